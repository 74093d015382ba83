"""Run a Python solution against tests in a sandbox and get per-test execution feedback.

    report = await run_tests(sb, code, ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"])
    report = await run_tests(sb, code, ["assert candidate(1, 2) == 3"], entry_point="add")
    report = await run_check(sb, code, humaneval_test_source, entry_point="add")   # check(candidate)
    report.all_passed, report.passed, report.total, report.feedback()

The candidate's code and the tests never share a process or a file system. The solution runs
in the sandbox's jail and only answers calls (`_jailserve.py`); the tests run in a trusted
evaluator process of the sandbox worker (`_evaluator.py`), where the solution's functions (and
`candidate`) are proxies. Arguments and return values cross as plain data, rebuilt on the
trusted side, so no object of the solution's reaches a comparison; the tests, the expected
values and the verdicts never exist inside the jail. Exiting, crashing or printing cannot make
a pass: a jail that dies fails the test it was in, and the rest do not run.

Each test gets: passed or not, the error type and message, expected vs actual for a failing
`assert x == y` (any one-operator comparison) or `assert x`, the failing line (in the test or in
the solution, whichever raised), its captured output and duration. One run executes all tests
(the solution loads once); each test has its own time limit.

Give `prompt` (the problem's trusted text) and its helper functions (HumanEval/32's `poly`)
are defined on the trusted side from it: a solution that redefines them cannot change what
the tests compute.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from treeagent.sandbox.models import RunRequest, RunResult, Verdict
from treeagent.sandbox.reports import TestCase, TestReport, TestResult, TestStatus

__all__ = ["SandboxLike", "TestCase", "TestReport", "TestResult", "cases_from_check", "run_check", "run_tests"]


class SandboxLike(Protocol):
    async def run(self, request: RunRequest) -> RunResult: ...

    async def evaluate(self, request: RunRequest, tests: dict[str, Any]) -> tuple[RunResult, dict[str, Any] | None]: ...


@cache
def _jail_source() -> str:
    return (Path(__file__).parent / "_jailserve.py").read_text(encoding="utf-8")


async def run_tests(
    sandbox: SandboxLike,
    code: str,
    tests: Sequence[str | TestCase],
    *,
    entry_point: str | None = None,
    case_time_limit_s: float = 5.0,
    time_limit_s: float | None = None,
    memory_limit_mb: int = 512,
    output_cap: int = 2000,
    prompt: str | None = None,
) -> TestReport:
    """Load `code` as solution.py in the jail and run each test against it from the trusted
    evaluator, in one sandbox run. `prompt`: the problem's trusted text, whose imports and
    helper functions (all but `entry_point`) the tests then see instead of the solution's."""
    cases = [t if isinstance(t, TestCase) else TestCase(source=t) for t in tests]
    config = {
        "entry_point": entry_point,
        "output_cap": output_cap,
        "load_time_limit_s": case_time_limit_s,
        "prelude": trusted_prelude(prompt, entry_point) if prompt else None,
        "cases": [{"source": c.source, "time_limit_s": c.time_limit_s or case_time_limit_s} for c in cases],
    }
    budget = time_limit_s or min(600.0, 2.0 + case_time_limit_s * (len(cases) + 1))
    request = RunRequest(
        code=_jail_source(),
        files={"solution.py": code},
        time_limit_s=budget,
        memory_limit_mb=memory_limit_mb,
        output_limit_bytes=max(1 << 20, (output_cap + 4096) * (len(cases) + 1) * 2),
    )
    run, evaluated = await sandbox.evaluate(request, config)
    return _report(run, cases, evaluated, entry_point)


async def run_check(sandbox: SandboxLike, code: str, check_source: str, entry_point: str, **kwargs: Any) -> TestReport:
    """Run a HumanEval-style test program (`def check(candidate): assert ...`), one test per
    statement of `check` that asserts or calls `candidate`."""
    return await run_tests(sandbox, code, cases_from_check(check_source), entry_point=entry_point, **kwargs)


def trusted_prelude(prompt: str, entry_point: str | None) -> str:
    """The prompt's top-level imports, helper functions, classes and constants (not the entry
    point), as source for the evaluator to run before the tests."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return ""
    lines = prompt.splitlines()
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)
    parts = [
        _segment(lines, node)
        for node in tree.body
        if isinstance(node, kept) and getattr(node, "name", None) != entry_point
    ]
    return "\n".join(parts)


def cases_from_check(check_source: str, function: str = "check") -> list[TestCase]:
    """Split a test program into a setup case (everything but `check`) and one case per
    statement of `check`'s body (statements that neither assert nor call `candidate` are setup)."""
    try:
        tree = ast.parse(check_source)
    except SyntaxError as exc:
        raise ValueError(f"the test program does not parse: {exc}") from exc
    lines = check_source.splitlines()
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if fn is None:
        raise ValueError(f"the test program defines no `def {function}(candidate): ...` function")
    param = fn.args.args[0].arg if fn.args.args else "candidate"
    prelude = [_segment(lines, n) for n in tree.body if n is not fn]
    cases: list[TestCase] = []
    if prelude:
        cases.append(TestCase(source="\n".join(prelude), kind="setup"))
    if param != "candidate":
        cases.append(TestCase(source=f"{param} = candidate", kind="setup"))
    for stmt in fn.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        is_test = any(
            isinstance(n, ast.Assert) or (isinstance(n, ast.Call) and _names(n.func, param)) for n in ast.walk(stmt)
        )
        cases.append(TestCase(source=_segment(lines, stmt), kind="test" if is_test else "setup"))
    return cases


def _names(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _segment(lines: list[str], node: ast.stmt) -> str:
    first = node.lineno - 1
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.decorator_list:
        first = node.decorator_list[0].lineno - 1
    end = node.end_lineno or node.lineno
    return textwrap.dedent("\n".join(lines[first:end]))


def _report(
    run: RunResult, cases: list[TestCase], evaluated: dict[str, Any] | None, entry_point: str | None
) -> TestReport:
    """The report, from the evaluator's records (never from anything the jail printed) and the
    jail's run result, which says how a jail that died mid-test ended."""
    records = evaluated.get("records") if evaluated else None
    fields = set(TestResult.model_fields)
    abnormal = _died_status(run)
    load: TestResult | None = None
    by_index: dict[int, TestResult] = {}
    for rec in records if isinstance(records, list) else []:
        if not isinstance(rec, dict):
            continue
        if "load" in rec:
            status = "passed" if rec["load"] == "passed" else rec["load"]
            extra = _died_fields(run, abnormal) if status == "jail_died" else {}
            load = TestResult(
                index=-1,
                source="solution.py",
                kind="load",
                **{k: v for k, v in rec.items() if k in fields - {"status"}},
                **extra,
                status=_status(status, abnormal),
            )
        elif "entry_point_missing" in rec:
            load = TestResult(
                index=-1,
                source="solution.py",
                kind="load",
                status="error",
                error_type="NameError",
                message=f"the solution defines no `{entry_point}` (the entry point the tests call)",
            )
        elif isinstance(rec.get("index"), int) and 0 <= rec["index"] < len(cases):
            i = rec["index"]
            case = cases[i]
            extra = _died_fields(run, abnormal) if rec.get("status") == "jail_died" else {}
            values = {k: v for k, v in rec.items() if k in fields - {"source", "kind", "status"}}
            values.update(extra)
            by_index[i] = TestResult(
                source=case.source, kind=case.kind, status=_status(rec.get("status"), abnormal), **values
            )
    if load is None:
        message = (evaluated or {}).get("error") or run.message or run.stderr[-2000:] or "the test run reported nothing"
        load = TestResult(
            index=-1,
            source="solution.py",
            kind="load",
            status=abnormal if run.verdict is not Verdict.ok else "error",
            error_type="SandboxRun",
            message=str(message),
        )
    results = [
        by_index.get(i) or TestResult(index=i, source=case.source, kind=case.kind, status="not_run")
        for i, case in enumerate(cases)
    ]
    return TestReport(load=load, results=results, run=run)


def _status(status: Any, died: TestStatus) -> TestStatus:
    if status == "jail_died":
        return died
    return status if status in TestStatus.__args__ else "error"  # type: ignore[attr-defined]


def _died_status(run: RunResult) -> TestStatus:
    """The status of the test a jail died in, from how the jail's run ended."""
    mapping: dict[Verdict, TestStatus] = {
        Verdict.timeout: "timeout",
        Verdict.memory: "memory",
        Verdict.output: "output",
        Verdict.killed: "killed",
    }
    return mapping.get(run.verdict, "error")


def _died_fields(run: RunResult, status: TestStatus) -> dict[str, Any]:
    if run.verdict is Verdict.ok:
        how = f"exit code {run.exit_code}" if run.exit_code is not None else "no status"
        message = f"the solution's process ended during this test ({how}) without answering"
        return {"error_type": "Exit", "message": message}
    return {"error_type": run.verdict.value, "message": run.message or run.stderr[-1000:] or None}
