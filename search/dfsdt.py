"""DFSDT: depth-first search with a diversity prompt (as in ToolLLM / ToolBench).

At each node the policy is asked for one action at a time and is shown the actions already tried
there, so each new sibling differs from the last. A branch is followed down until it solves the
task, fails (an unsolved terminal, an error, the depth cap) or the policy gives up. A failure
returns to the parent, which tries another sibling (up to `width`); a give-up backs off
`give_up_backoff` levels at once, abandoning the parent's remaining siblings too, as ToolBench does.
`Budget(max_llm_calls=...)` is its query budget. With an evaluator and `prune_below`, a child
valued below that threshold is not descended into (the value pruning of Tree of Thoughts' DFS).
"""

from __future__ import annotations

from typing import Any

from treeagent.search.controller import Controller
from treeagent.search.node import Node
from treeagent.search.run import SearchRun

_STOP = 1 << 30  # solved or out of budget: unwind everything


class DFSDT(Controller):
    name = "dfsdt"
    default_max_depth = 12

    def __init__(
        self,
        *args: Any,
        width: int = 2,
        give_up_backoff: int = 2,
        prune_below: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if width < 1:
            raise ValueError(f"width (children tried per node) must be at least 1, got {width}")
        if give_up_backoff < 1:
            raise ValueError(f"give_up_backoff must be at least 1, got {give_up_backoff}")
        if prune_below is not None and self.evaluator is None:
            raise ValueError("prune_below needs an evaluator to score children")
        self.width = width
        self.give_up_backoff = give_up_backoff
        self.prune_below = prune_below

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "width": self.width,
            "give_up_backoff": self.give_up_backoff,
            "prune_below": self.prune_below,
        }

    async def search(self, run: SearchRun) -> None:
        await self._visit(run, run.tree.root)

    async def _visit(self, run: SearchRun, node: Node) -> int:
        """Search below `node`; return how many levels to back off (1: the parent tries a sibling)."""
        legal = run.env.legal_actions(node.step.state) if run.finite_actions and node.step is not None else None
        for _ in range(self.width):
            tried = [c.action for c in node.children if c.action is not None and not c.give_up]
            if legal is not None and len(tried) >= len(legal):
                break  # every legal action has been tried here
            children = await run.expand(node, 1, tried=tried)
            if children is None:
                return _STOP
            if node.failed:
                return 1
            if not children:
                continue  # the policy repeated a tried action: that attempt is spent
            child = children[0]
            await run.evaluate(child)
            if run.solution is not None:
                return _STOP
            if child.give_up:
                run.record({"type": "backtrack", "node": child.id, "levels": self.give_up_backoff})
                back = self.give_up_backoff
            elif child.failed or child.terminal or child.depth >= self.max_depth:
                continue
            elif self.prune_below is not None and (child.value or 0.0) < self.prune_below:
                run.record({"type": "prune", "node": child.id, "value": child.value})
                continue
            else:
                back = await self._visit(run, child)
            if back == _STOP:
                return _STOP
            if back > 1:
                return back - 1
        return 1
