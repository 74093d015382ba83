"""The final verdict on hidden tests. Only `solve_code` and the eval runner call this, once per
problem, on the answer a search already chose: nothing it sees flows back into a search."""

from __future__ import annotations

from pydantic import BaseModel

from treeagent.environments.code.problem import CodeProblem
from treeagent.sandbox import TestCase, TestReport, cases_from_check, run_tests
from treeagent.sandbox.testing import SandboxLike


class HiddenVerdict(BaseModel):
    """Pass/fail on the hidden tests (HumanEval's pass@1 counts `passed`)."""

    passed: bool
    passed_tests: int
    total: int
    summary: str


async def grade_hidden(
    sandbox: SandboxLike, problem: CodeProblem, program: str | None, *, case_time_limit_s: float = 5.0
) -> HiddenVerdict | None:
    """Run the hidden tests on `program` (None: no program was written, which fails); None when
    the problem has no hidden tests."""
    hidden = problem.hidden
    if hidden.empty:
        return None
    cases: list[str | TestCase] = list(cases_from_check(hidden.check)) if hidden.check is not None else []
    cases += hidden.asserts
    if program is None:
        return HiddenVerdict(passed=False, passed_tests=0, total=len(cases), summary="no program")
    report: TestReport = await run_tests(
        sandbox,
        program,
        cases,
        entry_point=problem.entry_point,
        case_time_limit_s=case_time_limit_s,
        prompt=problem.prompt,  # the helpers the hidden tests call come from here, not the program
    )
    return HiddenVerdict(
        passed=report.all_passed,
        passed_tests=report.passed,
        total=report.total,
        summary=report.feedback(max_failures=1).splitlines()[0],
    )
