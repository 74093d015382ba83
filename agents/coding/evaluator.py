"""Values of code-environment nodes: the public-test pass rate, optionally blended with the model's
own judgement of the program (LATS: a weighted sum of the two; CodeTree's critic)."""

from __future__ import annotations

import asyncio
from typing import Literal

from treeagent.agents.base import HeldCalls, NodeView, reserve_calls
from treeagent.agents.coding.context_fit import complete_fitting
from treeagent.agents.coding.prompts import DEFAULT_PROMPTS, CodePrompts
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.llm_evaluator import SCORE_MAX, Score
from treeagent.agents.parsing import parse_score
from treeagent.environments.code import CodeState

#: the value of a node with no program to judge yet (the root, a plan)
UNJUDGED = 0.5


def pass_rate_value(state: CodeState) -> float:
    """The share of public tests passed; a program that does not load is worth 0. With no public
    tests to run it is unjudged, less the share of probe inputs it raised on (a program that
    crashes on well-formed inputs is worse than one that answers)."""
    if state.program is None:
        return UNJUDGED
    if not state.loaded:
        return 0.0
    if state.total:
        return state.pass_rate
    return UNJUDGED * (1.0 - state.probe_errors / state.probes) if state.probes else UNJUDGED


class PassRateEvaluator:
    """Implements `Evaluator` with no model call: the public-test pass rate."""

    async def value(self, view: NodeView) -> float:
        return pass_rate_value(view.state)


class CodeJudgeEvaluator:
    """Implements `Evaluator`: `test_weight * pass rate + (1 - test_weight) * self-evaluation`.

    judge: "always" asks the model on every program node; "no_tests" only where the problem has
    no public tests (the tests say more than a small model's opinion); "never" is pass rate only.
    Its votes are reserved from the search's budget (`view.usage`); with no call left the value is
    the pass rate.
    """

    def __init__(
        self,
        llm: LLMClient,
        *,
        prompts: CodePrompts = DEFAULT_PROMPTS,
        test_weight: float = 0.8,
        votes: int = 1,
        judge: Literal["always", "no_tests", "never"] = "always",
        sampling: Sampling | None = None,
    ) -> None:
        if not 0.0 <= test_weight <= 1.0:
            raise ValueError(f"test_weight must be in [0, 1], got {test_weight}")
        if votes < 1:
            raise ValueError(f"votes must be at least 1, got {votes}")
        self.llm = llm
        self.prompts = prompts
        self.test_weight = test_weight
        self.votes = votes
        self.judge = judge
        self.sampling = sampling or Sampling(temperature=0.5, max_tokens=16)

    async def value(self, view: NodeView) -> float:
        state: CodeState = view.state
        tests = pass_rate_value(state)
        if state.program is None or not state.loaded or self.judge == "never":
            return tests
        if self.judge == "no_tests" and state.total:
            return tests
        opinion = await self._self_evaluate(view, state)
        if opinion is None:
            return tests
        return self.test_weight * tests + (1 - self.test_weight) * opinion if state.total else opinion

    async def _self_evaluate(self, view: NodeView, state: CodeState) -> float | None:
        granted = reserve_calls(view.usage, self.votes)
        if not granted:
            return None
        task = view.task
        held = HeldCalls(view.usage, granted)
        try:
            completions = await asyncio.gather(
                *(
                    complete_fitting(
                        self.llm,
                        lambda p: p.judge_messages(task, state),
                        self.prompts,
                        sampling=self.sampling,
                        schema=Score,
                        sink=held,
                        tag="evaluate",
                    )
                    for _ in range(granted)
                )
            )
        finally:
            held.close()
        scores = [parse_score(c.text, 0, SCORE_MAX) for comp in completions for c in comp.choices]
        valid = [s for s in scores if s is not None]
        return sum(valid) / len(valid) / SCORE_MAX if valid else None
