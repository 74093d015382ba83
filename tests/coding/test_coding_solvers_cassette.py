"""Every solver's control flow on recorded real responses of the embedded model (no server needed):
budgets are respected, hidden tests never reach the agent side, early stopping works, reflections
and execution feedback reach later prompts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.base import NodeView, Proposal
from treeagent.coding import SOLVERS, CodeSolution, asolve_code
from treeagent.environments.code import load_humaneval, make_problem
from treeagent.sandbox import ProcessSandbox
from treeagent.search import Controller, read_records

from .conftest import MakeLLM

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARKER = "HIDDEN-MARKER-9f2c71"
PROMPT = '''def second_largest(nums):
    """Return the second largest distinct value in the list nums, or None when there is none.
    >>> second_largest([3, 1, 4, 1, 5])
    4
    >>> second_largest([2, 2])
    """
'''
PUBLIC = ["assert second_largest([3, 1, 4, 1, 5]) == 4", "assert second_largest([2, 2]) is None"]
CHECK = f'''
SECRET_{MARKER.replace("-", "_")} = 1

def check(candidate):
    assert candidate([10, 20, 30]) == 20, "{MARKER}"
    assert candidate([7]) is None
    assert candidate([-1, -5, -3]) == -3
'''
BUDGET = 7


def _planted() -> Any:
    return make_problem("planted/second", PROMPT, "second_largest", public_tests=PUBLIC, hidden_check=CHECK)


class Spy:
    """Wraps a policy or evaluator and keeps a dump of everything each call could see."""

    def __init__(self, inner: Any, seen: list[str]) -> None:
        self.inner = inner
        self.seen = seen

    def _dump(self, view: NodeView) -> None:
        env = view.env
        parts = [
            view.task.model_dump_json(),
            env.describe(view.task),
            env.render(view.state),
            repr(view.state),
            repr(vars(env)),
            *view.lessons,
            *(f"{s.action_text}\n{s.observation}" for s in view.trajectory),
        ]
        self.seen.append("\n".join(parts))

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        self._dump(view)
        return list(await self.inner.propose(view, k))

    async def value(self, view: NodeView) -> float:
        self._dump(view)
        return float(await self.inner.value(view))

    async def continue_from(self, view: NodeView, prefix: str, *, temperature: float = 0.0) -> Proposal:
        self._dump(view)
        result: Proposal = await self.inner.continue_from(view, prefix, temperature=temperature)
        return result

    def from_output(self, view: NodeView, text: str) -> Proposal:
        self._dump(view)
        result: Proposal = self.inner.from_output(view, text)
        return result


def _spy_on(seen: list[str]) -> Any:
    def install(controller: Controller) -> None:
        controller.policy = Spy(controller.policy, seen)
        controller.evaluator = Spy(controller.evaluator, seen)

    return install


def _llm_records(trace: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(trace) if r["type"] == "llm"]


@pytest.mark.parametrize("solver", list(SOLVERS))
async def test_solver_respects_budget_and_never_sees_hidden_tests(
    solver: str, cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    problem = _planted()
    assert MARKER in (problem.hidden.check or "")
    trace = tmp_path / "run.trace.jsonl"
    seen: list[str] = []
    llm = cassette_llm(f"planted_{solver}")
    solution: CodeSolution = await asolve_code(
        problem,
        solver=solver,
        budget_calls=BUDGET,
        width=2,
        concurrency=1,
        llm=llm,
        sandbox=code_sandbox,
        trace=trace,
        on_start=_spy_on(seen),
    )
    stats = solution.result.stats
    records = _llm_records(trace)
    # the budget: never more calls than allowed, every call charged and traced
    assert 1 <= stats.llm_calls <= (1 if solver == "greedy" else BUDGET)
    assert len(records) == stats.llm_calls == llm.stats.requests
    assert solution.result.stop_reason in ("solved", "max_llm_calls", "exhausted")
    errors = [n.error for n in solution.tree if n.error and not n.error.startswith("no code")]
    assert errors == []  # no policy or evaluator fault, no environment failure
    # no leak: not in any prompt, trace record or evaluator/policy input
    assert seen, "the spies saw no call"
    prompts = [json.dumps(r["messages"]) for r in records]
    assert prompts and all("second_largest" in p for p in prompts)
    assert not any(MARKER in p for p in prompts)
    assert MARKER not in trace.read_text()
    assert not any(MARKER in s for s in seen)
    # the verdict is the hidden suite's, run on the chosen answer only
    assert solution.hidden is not None and solution.hidden.total == 3
    if solution.program is not None:
        assert solution.public_total == 2
        best = max(
            (n.step.state.passed for n in solution.tree if n.step is not None and n.step.state.program is not None),
            default=0,
        )
        assert solution.public_passed == best  # the answer is the best candidate by public tests
    if solution.passed:
        assert solution.public_passed == solution.public_total


async def test_reflections_reach_later_prompts(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    """Reflexion: write, fail, reflect, revise with the lesson in the prompt."""
    trace = tmp_path / "reflexion.trace.jsonl"
    await asolve_code(
        _planted(),
        solver="reflexion",
        budget_calls=BUDGET,
        concurrency=1,
        llm=cassette_llm("planted_reflexion"),
        sandbox=code_sandbox,
        trace=trace,
    )
    records = _llm_records(trace)
    tags = [r["tag"] for r in records]
    assert tags[:3] == ["write", "reflect", "revise"]
    lesson = " ".join(records[1]["texts"][0].split())[:40]
    assert lesson and lesson in " ".join(records[2]["messages"][-1]["content"].split())
    # the revision prompt shows the failing program's feedback
    assert "Result of the public tests:" in records[2]["messages"][-1]["content"]


async def test_rethink_feeds_back_failures_in_words(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    trace = tmp_path / "rethink.trace.jsonl"
    await asolve_code(
        _planted(),
        solver="rethink",
        budget_calls=BUDGET,
        width=2,
        concurrency=1,
        llm=cassette_llm("planted_rethink"),
        sandbox=code_sandbox,
        trace=trace,
    )
    rethinks = [r for r in _llm_records(trace) if r["tag"] == "rethink"]
    assert rethinks, "no failing program was rethought"
    prompt = rethinks[0]["messages"][-1]["content"]
    assert "public tests." in prompt and ("returned" in prompt or "raised" in prompt or "load" in prompt)
    assert "Plan:" in prompt


async def test_plan_solvers_plan_before_they_code(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    for solver in ("plansearch", "codetree"):
        trace = tmp_path / f"{solver}.trace.jsonl"
        await asolve_code(
            _planted(),
            solver=solver,
            budget_calls=BUDGET,
            width=2,
            concurrency=1,
            llm=cassette_llm(f"planted_{solver}"),
            sandbox=code_sandbox,
            trace=trace,
        )
        records = _llm_records(trace)
        assert [r["tag"] for r in records[:2]] == ["plan", "plan"]
        writes = [r for r in records if r["tag"] == "write"]
        assert writes and all("Plan:\n" in r["messages"][-1]["content"] for r in writes)


async def test_best_of_n_stops_at_the_first_public_pass(cassette_llm: MakeLLM, code_sandbox: ProcessSandbox) -> None:
    [problem] = load_humaneval(ids=["HumanEval/23"])  # strlen: the small model solves it
    early = await asolve_code(
        problem, solver="best_of_n", budget_calls=8, width=2, concurrency=1,
        llm=cassette_llm("strlen_best_of_n"), sandbox=code_sandbox,
    )  # fmt: skip
    calls = early.result.stats.llm_calls
    assert early.result.stop_reason == "solved" and calls < 8
    assert calls % 2 == 0  # whole batches of two
    programs = [n for n in early.tree.root.children if n.step is not None]
    passing = [n.id for n in programs if n.step.state.all_passed]
    assert passing and min(passing) > len(programs) - 2  # the first pass came in the last batch
    assert early.public_passed == early.public_total == 2 and early.passed
    full = await asolve_code(
        problem, solver="best_of_n", budget_calls=4, width=2, concurrency=1, early_stop=False,
        llm=cassette_llm("strlen_no_early_stop"), sandbox=code_sandbox,
    )  # fmt: skip
    assert full.result.stop_reason == "max_llm_calls" and full.result.stats.llm_calls == 4
    assert full.public_passed == 2 and full.passed
