"""Run a Python solution against tests in a sandbox and get per-test execution feedback.

    report = await run_tests(sb, code, ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"])
    report = await run_tests(sb, code, ["assert candidate(1, 2) == 3"], entry_point="add")
    report = await run_check(sb, code, humaneval_test_source, entry_point="add")   # check(candidate)
    report.all_passed, report.passed, report.total, report.feedback()

Each test gets: passed or not, the error type and message, expected vs actual for a failing
`assert x == y` (any one-operator comparison) or `assert x`, the failing line (in the test or in
the solution, whichever raised), its captured output and duration. One run executes all tests
(the solution loads once); each test has its own time limit, and a run that dies (segfault,
memory) still reports the tests that finished and names the one that was running.
"""

from __future__ import annotations

import ast
import json
import secrets
import textwrap
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from treeagent.sandbox.models import RunRequest, RunResult, Verdict

TestStatus = Literal["passed", "failed", "error", "timeout", "memory", "output", "killed", "not_run"]


class SandboxLike(Protocol):
    async def run(self, request: RunRequest) -> RunResult: ...


class TestCase(BaseModel):
    """Python source run after the solution is loaded (`candidate` is bound to the entry point
    when one is given). `setup` cases (imports, helper values) run in order but are not counted."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(frozen=True)

    source: str = Field(min_length=1)
    kind: Literal["test", "setup"] = "test"
    time_limit_s: float | None = Field(default=None, gt=0)


class TestResult(BaseModel):
    """One test's outcome; `file`/`line`/`line_text` point at the deepest failing line in the
    solution or the test."""

    __test__ = False
    index: int
    source: str
    kind: Literal["test", "setup", "load"] = "test"
    status: TestStatus
    error_type: str | None = None
    message: str | None = None
    expected: str | None = None
    actual: str | None = None
    comparison: str | None = None
    file: str | None = None
    line: int | None = None
    line_text: str | None = None
    traceback: str | None = None
    stdout: str = ""
    ms: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def describe(self) -> str:
        """One failure, in the words a model needs to fix it."""
        head = self.source.strip().splitlines()[0] if self.source.strip() else self.kind
        what = {
            "failed": "failed",
            "timeout": "timed out",
            "not_run": "did not run",
            "memory": "ran out of memory",
            "output": "printed too much",
            "killed": "was killed",
        }.get(self.status, f"raised {self.error_type or 'an error'}")
        lines = [f"{head}  -> {what}"]
        if self.expected is not None or self.actual is not None:
            lines.append(f"  expected: {self.expected}\n  actual:   {self.actual}")
        if (self.message and self.status != "failed") or (self.message and self.expected is None):
            lines.append(f"  {self.error_type}: {self.message}" if self.error_type else f"  {self.message}")
        if self.line is not None and self.file == "solution.py":
            lines.append(f"  at solution.py line {self.line}: {self.line_text}")
        return "\n".join(lines)


class TestReport(BaseModel):
    """All tests of one solution. `load` is the solution's own import (syntax errors land there)."""

    __test__ = False
    load: TestResult
    results: list[TestResult]
    run: RunResult

    @property
    def tests(self) -> list[TestResult]:
        return [r for r in self.results if r.kind == "test"]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.tests)

    @property
    def total(self) -> int:
        return len(self.tests)

    @property
    def all_passed(self) -> bool:
        return self.load.passed and all(r.passed for r in self.results) and self.total > 0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def feedback(self, max_failures: int = 3) -> str:
        """Execution feedback as text for a prompt: the score, then the first failures."""
        if not self.load.passed:
            return "The solution did not load:\n" + self.load.describe()
        lines = [f"{self.passed}/{self.total} tests passed."]
        failures = [r for r in self.results if not r.passed]
        lines += [r.describe() for r in failures[:max_failures]]
        if len(failures) > max_failures:
            lines.append(f"... and {len(failures) - max_failures} more failing")
        return "\n".join(lines)


@cache
def _harness_source() -> str:
    return (Path(__file__).parent / "_harness.py").read_text(encoding="utf-8")


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
) -> TestReport:
    """Load `code` as solution.py and run each test against it, in one sandbox run."""
    cases = [t if isinstance(t, TestCase) else TestCase(source=t) for t in tests]
    marker = f"\x1eTA{secrets.token_hex(8)} "
    config = {
        "marker": marker,
        "entry_point": entry_point,
        "output_cap": output_cap,
        "load_time_limit_s": case_time_limit_s,
        "cases": [{"source": c.source, "time_limit_s": c.time_limit_s or case_time_limit_s} for c in cases],
    }
    budget = time_limit_s or min(600.0, 2.0 + case_time_limit_s * (len(cases) + 1))
    request = RunRequest(
        code=_harness_source(),
        files={"solution.py": code, "cases.json": json.dumps(config)},
        time_limit_s=budget,
        memory_limit_mb=memory_limit_mb,
        output_limit_bytes=max(1 << 20, (output_cap + 4096) * (len(cases) + 1) * 2),
    )
    run = await sandbox.run(request)
    return _report(run, cases, marker, entry_point)


async def run_check(sandbox: SandboxLike, code: str, check_source: str, entry_point: str, **kwargs: Any) -> TestReport:
    """Run a HumanEval-style test program (`def check(candidate): assert ...`), one test per
    statement of `check` that asserts or calls `candidate`."""
    return await run_tests(sandbox, code, cases_from_check(check_source), entry_point=entry_point, **kwargs)


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


def _report(run: RunResult, cases: list[TestCase], marker: str, entry_point: str | None) -> TestReport:
    records: list[dict[str, Any]] = []
    for line in run.stdout.split("\n"):  # not splitlines(): it splits at the marker's \x1e too
        at = line.find(marker)  # not only at the start: code may write to fd 1 without a newline
        if at >= 0:
            try:
                records.append(json.loads(line[at + len(marker) :]))
            except json.JSONDecodeError:
                continue
    fields = set(TestResult.model_fields)
    load: TestResult | None = None
    by_index: dict[int, TestResult] = {}
    running: int | None = None
    for rec in records:
        if "load" in rec:
            status = "passed" if rec["load"] == "passed" else rec["load"]
            load = TestResult(
                index=-1,
                source="solution.py",
                kind="load",
                **{k: v for k, v in rec.items() if k in fields - {"status"}},
                status=status if status in TestStatus.__args__ else "error",  # type: ignore[attr-defined]
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
        elif "start" in rec:
            running = int(rec["start"])
        elif "index" in rec:
            i = int(rec["index"])
            case = cases[i]
            by_index[i] = TestResult(
                source=case.source, kind=case.kind, **{k: v for k, v in rec.items() if k in fields - {"source", "kind"}}
            )
            running = None
    abnormal = _abnormal_status(run)
    if load is None:
        load = TestResult(
            index=-1,
            source="solution.py",
            kind="load",
            status=abnormal or "error",
            error_type="SandboxRun",
            message=run.message or (run.stderr[-2000:] if run.stderr else "the test run reported nothing"),
        )
    results = []
    for i, case in enumerate(cases):
        if i in by_index:
            results.append(by_index[i])
        elif i == running:
            results.append(
                TestResult(
                    index=i,
                    source=case.source,
                    kind=case.kind,
                    status=abnormal or "error",
                    error_type=run.verdict.value,
                    message=run.message or run.stderr[-1000:] or None,
                )
            )
        else:
            results.append(TestResult(index=i, source=case.source, kind=case.kind, status="not_run"))
    return TestReport(load=load, results=results, run=run)


def _abnormal_status(run: RunResult) -> TestStatus | None:
    mapping: dict[Verdict, TestStatus] = {
        Verdict.timeout: "timeout",
        Verdict.memory: "memory",
        Verdict.output: "output",
        Verdict.killed: "killed",
        Verdict.error: "error",
    }
    return mapping.get(run.verdict)
