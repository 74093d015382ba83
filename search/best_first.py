"""Best-first search (as in "Tree Search for Language Model Agents", Koh et al.).

A priority frontier keyed by value: pop the most promising node, ask the policy for
`branching` candidate actions, step and score each child, push them back. Stop when a node
reaches `stop_value` (1.0: the evaluator says solved), a terminal node solves the task, the
frontier empties or the budget runs out. Up to `concurrency` nodes are expanded at once.
"""

from __future__ import annotations

import asyncio
import heapq
from typing import Any

from treeagent.search.controller import Controller
from treeagent.search.node import Node, Status
from treeagent.search.run import SearchRun


class BestFirst(Controller):
    name = "best_first"
    default_max_depth = 5

    def __init__(self, *args: Any, branching: int = 5, stop_value: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if branching < 1:
            raise ValueError(f"branching must be at least 1, got {branching}")
        if not 0.0 < stop_value <= 1.0:
            raise ValueError(f"stop_value must be in (0, 1], got {stop_value}")
        self.branching = branching
        self.stop_value = stop_value

    def config(self) -> dict[str, Any]:
        return {**super().config(), "branching": self.branching, "stop_value": self.stop_value}

    async def search(self, run: SearchRun) -> None:
        frontier: list[tuple[float, int, Node]] = []
        root = run.tree.root
        # the root is the whole frontier: its value would order nothing, so no evaluator call is spent on it
        heapq.heappush(frontier, (0.0, root.id, root))
        while frontier and run.solution is None and not run.meter.exhausted():
            batch: list[Node] = []
            while frontier and len(batch) < self.concurrency:
                _, _, node = heapq.heappop(frontier)
                if node.status == Status.OPEN and node.depth < self.max_depth:
                    batch.append(node)
            if not batch:
                break
            grown = await asyncio.gather(*(run.expand_and_evaluate(node, self.branching) for node in batch))
            for children in grown:
                for child in children:
                    if child.status == Status.OPEN and child.value is not None:
                        heapq.heappush(frontier, (-child.value, child.id, child))
            if self._reached_stop_value(run, grown):
                break

    def _reached_stop_value(self, run: SearchRun, grown: list[list[Node]]) -> bool:
        """A solved node, or one the evaluator scores at `stop_value`, ends the search."""
        if run.solution is not None:
            return True
        for children in grown:
            for child in children:
                if not child.failed and child.value is not None and child.value >= self.stop_value:
                    run.record({"type": "stop", "node": child.id, "value": child.value})
                    return True
        return False
