"""Reflections on failed programs (Reflexion, LATS): a short lesson per failing program. The search
asks for them (`SearchRun.reflect`, reached from a policy through `NodeView.reflect`), traces them,
restores them on resume and hands them to later prompts in `NodeView.lessons`."""

from __future__ import annotations

import asyncio

from treeagent.agents.base import NodeView
from treeagent.agents.coding.context_fit import complete_fitting
from treeagent.agents.coding.feedback import verbal_feedback
from treeagent.agents.coding.prompts import DEFAULT_PROMPTS, CodePrompts
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.parsing import first_sentences
from treeagent.environments.code import CodeState


class CodeReflector:
    """Implements `Reflector`: one low-temperature call per distinct failing program (cached). With no
    call left in the budget, `BudgetExhausted` propagates: the search then goes on without a lesson."""

    def __init__(
        self,
        llm: LLMClient,
        *,
        prompts: CodePrompts = DEFAULT_PROMPTS,
        sampling: Sampling | None = None,
        max_chars: int = 240,
    ) -> None:
        self.llm = llm
        self.prompts = prompts
        self.sampling = sampling or Sampling(temperature=0.3, max_tokens=96)
        self.max_chars = max_chars
        self._done: dict[str, asyncio.Future[str]] = {}

    async def reflect(self, view: NodeView) -> str:
        state = view.state
        if not isinstance(state, CodeState) or state.program is None or state.all_passed:
            return ""
        known = self._done.get(state.program)
        if known is not None:
            return await known
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._done[state.program] = future
        try:
            lesson = await self._ask(view, state)
        except BaseException as exc:
            del self._done[state.program]
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        future.set_result(lesson)
        return lesson

    async def _ask(self, view: NodeView, state: CodeState) -> str:
        task, feedback = view.task, verbal_feedback(state)
        completion = await complete_fitting(
            self.llm,
            lambda p: p.reflect_messages(task, state, feedback),
            self.prompts,
            sampling=self.sampling,
            sink=view.usage,
            tag="reflect",
        )
        text = completion.choices[0].text if completion.choices else ""
        return first_sentences(text, self.max_chars)
