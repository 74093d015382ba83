"""Fixtures for the tool-use tests: a scripted (non-LLM) policy for exact control flow, and the
live model server for `@pytest.mark.llm` tests (TREEAGENT_BASE_URL, as the other suites)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.environments.tools import ToolAction

GIVE_UP = "GIVE_UP"
BAD = "BAD"


class ScriptedPolicy:
    """Proposes, at a node reached by the action texts `path`, the next entry of `script[path]`
    (one per expansion there); GIVE_UP gives up, BAD is an unusable reply."""

    def __init__(self, script: dict[tuple[str, ...], Sequence[ToolAction | str]]) -> None:
        self.script = script
        self.asked: dict[tuple[str, ...], int] = {}
        self.tried_seen: list[list[str]] = []

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        path = tuple(step.action_text for step in view.trajectory)
        self.tried_seen.append([view.env.action_text(a) for a in view.tried])
        index = self.asked.get(path, 0)
        self.asked[path] = index + 1
        options = self.script.get(path, ())
        if index >= len(options):
            return [Proposal(error="script exhausted")]
        item = options[index]
        if item == GIVE_UP:
            return [Proposal(give_up=True, text="give up")]
        if item == BAD:
            return [Proposal(error="unusable reply", text="???")]
        assert isinstance(item, ToolAction)
        return [Proposal(action=item)]


@pytest.fixture
def scripted() -> type[ScriptedPolicy]:
    return ScriptedPolicy


@pytest_asyncio.fixture(loop_scope="session")
async def tools_llm(live_base_url: str) -> AsyncIterator[LLMClient]:
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=180)) as client:
        yield client
