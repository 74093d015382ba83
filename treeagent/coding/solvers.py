"""The coding solvers' builders (the registry's `SOLVERS` table names them: `treeagent.registry`):
each is a controller with a coding policy and evaluator, on one budget unit
(one sampled completion = one LLM call; tokens are counted too). The controller's budget is the
only one: every agent reserves its calls from it before it asks (`view.usage`).

- greedy: one sample at temperature 0.
- best_of_n: samples at temperature 0.8, `concurrency` at a time, until one passes the public
  tests or the budget is spent.
- reflexion: one path (DFSDT, two tries per node): write, test, reflect on the failure, revise.
- mcts: LATS. MCTS whose children are programs or revisions, every child valued by
  0.8 * public pass rate + 0.2 * the model's self-evaluation, reflections on failing programs
  carried into later prompts.
- rethink: RethinkMCTS. MCTS over (plan, program) pairs; a failing program's test results become
  verbal feedback and the model rewrites the plan and the program from it; values are pass rates
  (self-evaluation only where the problem has no public tests).
- codetree: CodeTree. Best-first over strategies (plans), then a solution per strategy, then
  debugging revisions; a critic (the model's judgement blended with the pass rate) ranks the
  frontier, and the search stops at the first program that passes.
- plansearch: PlanSearch. Diverse natural-language plans first, then one program per plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treeagent.agents.base import Evaluator
from treeagent.agents.coding import (
    GREEDY_SAMPLING,
    CodeJudgeEvaluator,
    CodePolicy,
    CodeReflector,
    PassRateEvaluator,
)
from treeagent.agents.llm.client import LLMClient
from treeagent.registry import DEFAULT_SOLVER, SOLVERS
from treeagent.search import DFSDT, MCTS, BestFirst, Budget, Controller, RepeatedSampling
from treeagent.search.adaptive import AdaptiveSearch
from treeagent.search.token_tree import pucb


@dataclass(slots=True)
class SolverSetup:
    """What `build_solver` returns: the controller to run (its budget is the agents' one budget)."""

    controller: Controller
    policy: CodePolicy
    evaluator: Evaluator


def _common(budget_calls: int, seed: int, trace: Path | None, max_seconds: float | None) -> dict[str, Any]:
    budget = Budget(max_llm_calls=budget_calls, max_seconds=max_seconds)
    return {"budget": budget, "seed": seed, "trace": trace}


def _greedy(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, sampling=GREEDY_SAMPLING, revise=False)
    evaluator = PassRateEvaluator()
    controller = RepeatedSampling(policy, evaluator, batch=1, **_common(1, **common))
    return SolverSetup(controller, policy, evaluator)


def _best_of_n(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, revise=False)
    evaluator = PassRateEvaluator()
    batch = width or concurrency
    controller = RepeatedSampling(policy, evaluator, batch=batch, **_common(budget_calls, **common))
    return SolverSetup(controller, policy, evaluator)


def _reflexion(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, reflect=True)
    evaluator = PassRateEvaluator()
    controller = DFSDT(
        policy,
        evaluator,
        reflector=CodeReflector(llm),
        width=width or 2,
        max_depth=budget_calls + 1,
        **_common(budget_calls, **common),
    )
    return SolverSetup(controller, policy, evaluator)


def _lats(
    llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, *, rethink: bool, **common: Any
) -> SolverSetup:
    """MCTS over programs scoring every child (LATS); with `rethink`, verbal test feedback revises the
    plan instead of a reflection memory, and the model judges only when there are no tests."""
    policy = CodePolicy(llm, rethink=rethink, reflect=not rethink)
    evaluator = CodeJudgeEvaluator(llm, judge="no_tests" if rethink else "always")
    controller = MCTS(
        policy,
        evaluator,
        reflector=None if rethink else CodeReflector(llm),
        evaluate="children",
        children_per_expansion=width or 2,
        exploration=1.0,
        max_depth=budget_calls + 1,
        concurrency=max(1, concurrency // 2),
        **_common(budget_calls, **common),
    )
    return SolverSetup(controller, policy, evaluator)


def _mcts(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    return _lats(llm, budget_calls, width, concurrency, rethink=False, **common)


def _rethink(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    return _lats(llm, budget_calls, width, concurrency, rethink=True, **common)


def _codetree(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, plan_first=True, programs_per_plan=1)
    evaluator = CodeJudgeEvaluator(llm, judge="always", test_weight=0.6)
    branching = width or max(2, min(4, budget_calls // 4))
    controller = BestFirst(
        policy, evaluator, branching=branching, max_depth=6, concurrency=concurrency, **_common(budget_calls, **common)
    )
    return SolverSetup(controller, policy, evaluator)


def _plansearch(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, plan_first=True, programs_per_plan=1, revise=False)
    evaluator = PassRateEvaluator()
    branching = width or max(1, budget_calls // 2)
    controller = BestFirst(
        policy, evaluator, branching=branching, max_depth=2, concurrency=concurrency, **_common(budget_calls, **common)
    )
    return SolverSetup(controller, policy, evaluator)


def _test_guided(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm)  # revises only if the revise arm is switched on (AdaptiveSearch.arms)
    evaluator = PassRateEvaluator()
    controller = AdaptiveSearch(policy, evaluator, width=width or 3, **_common(budget_calls, **common))
    return SolverSetup(controller, policy, evaluator)


def _pgtd(llm: LLMClient, budget_calls: int, width: int | None, concurrency: int, **common: Any) -> SolverSetup:
    policy = CodePolicy(llm, revise=False)
    evaluator = PassRateEvaluator()
    controller = AdaptiveSearch(
        policy,
        evaluator,
        arms=("branch",),
        edits=0,  # PG-TD as published: every program is a rollout
        width=width or 3,
        selection=pucb(4.0, use_best=True, log_visits=True),
        **_common(budget_calls, **common),
    )
    return SolverSetup(controller, policy, evaluator)


class SolverError(ValueError):
    """A bad budget, width or concurrency for a solver."""


def build_solver(
    name: str,
    llm: LLMClient,
    *,
    budget_calls: int = 16,
    width: int | None = None,
    concurrency: int = 4,
    seed: int = 0,
    trace: Path | None = None,
    max_seconds: float | None = None,
) -> SolverSetup:
    """The controller and agents of solver `name` for one problem."""
    recipe = SOLVERS[name]  # an unknown name: UnknownRecipe, listing the solvers
    if budget_calls < 1:
        raise SolverError(f"the budget must allow at least one LLM call, got {budget_calls}")
    if width is not None and width < 1:
        raise SolverError(f"width must be at least 1, got {width}")
    if concurrency < 1:
        raise SolverError(f"concurrency must be at least 1, got {concurrency}")
    setup: SolverSetup = recipe(llm, budget_calls, width, concurrency, seed=seed, trace=trace, max_seconds=max_seconds)
    return setup


__all__ = ["DEFAULT_SOLVER", "SOLVERS", "SolverError", "SolverSetup", "build_solver"]
