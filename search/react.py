"""The ReAct chain: one action at a time, never branching, as the baseline tree searches must beat.

The chain follows the policy's single proposal at each node until the task is solved or the
budget runs out. An unusable reply (a failed child) is retried at the same node; a chain that
ends without solving (the policy gave up, an unsolved terminal, the depth cap) starts again from
the root, up to `restarts` times (ToolLLM's ReAct@N), so it spends the same budget as a search.
"""

from __future__ import annotations

from typing import Any

from treeagent.search.controller import Controller
from treeagent.search.run import SearchRun


class ReActChain(Controller):
    name = "react"
    default_max_depth = 30

    def __init__(self, *args: Any, restarts: int = 10, retries: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if restarts < 0 or retries < 0:
            raise ValueError(f"restarts and retries must be >= 0, got {restarts}, {retries}")
        self.restarts = restarts
        self.retries = retries

    def config(self) -> dict[str, Any]:
        return {**super().config(), "restarts": self.restarts, "retries": self.retries}

    async def search(self, run: SearchRun) -> None:
        for chain in range(self.restarts + 1):
            if chain:
                run.record({"type": "restart", "chain": chain})
            if await self._chain(run) or run.solution is not None:
                return

    async def _chain(self, run: SearchRun) -> bool:
        """Follow one chain; True when the search must stop (solved or out of budget)."""
        node = run.tree.root
        misses = 0
        while node.depth < self.max_depth:
            children = await run.expand(node, 1)
            if children is None:
                return True
            if node.failed:
                return False
            child = children[0] if children else None
            if child is None or (child.failed and not child.give_up):
                misses += 1
                if misses > self.retries:
                    return False
                continue
            misses = 0
            await run.evaluate(child)
            if run.solution is not None:
                return True
            if child.failed or child.terminal:
                return False
            node = child
        return False
