"""Beam search: expand every beam, keep the `width` best children by value, go one level deeper.

As in Tree of Thoughts' BFS (keep the 5 best states per step). Beams are expanded concurrently,
up to `concurrency` at once; terminal children that do not solve the task drop out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from treeagent.search.controller import Controller
from treeagent.search.node import Node, Status
from treeagent.search.run import SearchRun


class Beam(Controller):
    name = "beam"
    default_max_depth = 10

    def __init__(self, *args: Any, width: int = 5, expansions_per_beam: int = 5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if width < 1:
            raise ValueError(f"width must be at least 1, got {width}")
        if expansions_per_beam < 1:
            raise ValueError(f"expansions_per_beam must be at least 1, got {expansions_per_beam}")
        self.width = width
        self.expansions_per_beam = expansions_per_beam

    def config(self) -> dict[str, Any]:
        return {**super().config(), "width": self.width, "expansions_per_beam": self.expansions_per_beam}

    async def search(self, run: SearchRun) -> None:
        beams = [run.tree.root]  # not evaluated: a value would rank nothing here
        for _ in range(self.max_depth):
            candidates: list[Node] = []
            for start in range(0, len(beams), self.concurrency):
                chunk = beams[start : start + self.concurrency]
                grown = await asyncio.gather(
                    *(run.expand_and_evaluate(beam, self.expansions_per_beam) for beam in chunk)
                )
                for children in grown:
                    candidates.extend(children)
                if run.solution is not None or run.meter.exhausted():
                    return
            live = [c for c in candidates if c.status == Status.OPEN]
            live.sort(key=lambda c: (-(c.value or 0.0), c.id))
            beams = live[: self.width]
            run.record({"type": "beam", "nodes": [b.id for b in beams]})
            if not beams:
                return
