"""Runs a slow search with a trace, to be killed mid-run by test_resume.py (not a test itself)."""

from __future__ import annotations

import asyncio
import sys

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.heuristics import UniformPolicy
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.registry import CONTROLLERS
from treeagent.search import Budget, Controller

PUZZLE = (4, 4, 7, 8)


class SlowUniform(UniformPolicy):
    """A uniform policy that takes as long as a model call would."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return await super().propose(view, k)


def make_controller(name: str, policy: UniformPolicy, trace: str, resume: bool) -> Controller:
    kwargs = {"budget": Budget(max_expansions=400), "seed": 5, "trace": trace, "resume": resume, "max_depth": 3}
    if name == "dfsdt":
        return CONTROLLERS[name](policy, width=64, **kwargs)  # type: ignore[call-arg]
    return CONTROLLERS[name](policy, **kwargs)


if __name__ == "__main__":
    name, trace = sys.argv[1], sys.argv[2]
    asyncio.run(make_controller(name, SlowUniform(0.02), trace, resume=False).run(Game24Env(), game24_task(PUZZLE)))
