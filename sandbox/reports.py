"""The test runner's results: per-test outcomes and the feedback text a coding agent reads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from treeagent.sandbox.models import RunResult

TestStatus = Literal["passed", "failed", "error", "timeout", "memory", "output", "killed", "not_run"]


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
