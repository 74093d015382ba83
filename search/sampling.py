"""Repeated sampling at the root (greedy, best-of-N): the simplest "search", on the same
machinery (budget, trace, tree) as the tree solvers, so their numbers compare like for like."""

from __future__ import annotations

import asyncio
from typing import Any

from treeagent.search.controller import Controller
from treeagent.search.run import SearchRun


class RepeatedSampling(Controller):
    """Expands the root again and again, `batch` candidates at a time (each shown the ones already
    tried), until a candidate solves the task (a program that passes every public test, say), the
    budget is spent, or `max_stalls` rounds in a row add no new candidate. Each candidate is one
    action from the root: for tasks answered in one step (a program, a reply)."""

    name = "sampling"
    default_max_depth = 1

    def __init__(self, *args: Any, batch: int = 4, max_stalls: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self.batch = batch
        self.max_stalls = max_stalls

    def config(self) -> dict[str, Any]:
        return {**super().config(), "batch": self.batch}

    async def search(self, run: SearchRun) -> None:
        root = run.tree.root
        stalls = 0
        while run.solution is None and not run.meter.exhausted():
            tried = [c.action for c in root.children if c.error is None]
            children = await run.expand(root, self.batch, tried=tried)
            if children is None:
                break
            await asyncio.gather(*(run.evaluate(c) for c in children if not c.failed))
            stalls = 0 if children else stalls + 1
            if stalls >= self.max_stalls:
                break
