"""The code environment: actions are candidate programs (or plans), observations are the public
tests' execution feedback from the sandbox.

The environment is built from a `Task` (see `CodeProblem.task`), which carries the public tests
only: it has no way to reach the hidden ones. A program that passes every public test ends its
branch as solved (`stop_on_pass`, on by default); a problem without public tests never does, and
its search runs to its budget.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, Task
from treeagent.environments.code.probes import behaviour, make_probes
from treeagent.environments.code.program import assemble, candidate_view
from treeagent.sandbox import ProcessSandbox, TestReport, run_tests
from treeagent.sandbox.testing import SandboxLike


class CodeAction(BaseModel):
    """A whole candidate program (or a revision of the previous one), or a natural-language plan
    that the next program should follow (PlanSearch, CodeTree, RethinkMCTS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["program", "plan"] = "program"
    text: str = Field(min_length=1)
    #: a program may come with the plan it follows (RethinkMCTS revises both); it replaces the
    #: branch's plan.
    plan: str | None = None


@dataclass(frozen=True, slots=True)
class TestFailure:
    """One failing public test, as the agent may see it."""

    __test__ = False
    test: str
    status: str
    expected: str | None = None
    actual: str | None = None
    error: str | None = None
    line: int | None = None
    line_text: str | None = None


@dataclass(frozen=True, slots=True)
class CodeState:
    """Where a branch stands: the last program and its public-test results, and the current plan."""

    program: str | None = None
    plan: str | None = None
    passed: int = 0
    total: int = 0
    loaded: bool = False
    feedback: str = ""
    failures: tuple[TestFailure, ...] = ()
    programs: int = 0
    #: the program's behaviour on probe inputs made from the prompt (see `probes.py`): equal
    #: signatures mean the programs agree; None when there were no probes
    signature: str | None = None
    probe_errors: int = 0
    probes: int = 0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.loaded and self.total > 0 and self.passed == self.total


def task_fields(task: Task) -> tuple[str, list[str]]:
    """The entry point and public tests of a code task (a clear error for any other task)."""
    entry = task.data.get("entry_point")
    tests = task.data.get("public_tests", [])
    if not isinstance(entry, str) or not entry:
        raise ValueError(f"task {task.id!r} is not a code task: data.entry_point is missing (use CodeProblem.task())")
    if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
        raise ValueError(f"task {task.id!r}: data.public_tests must be a list of assert strings")
    return entry, tests


class CodeEnv(Environment[CodeState, CodeAction]):
    """See the module docstring. Give it a shared `sandbox` when running many problems; else it
    starts its own process sandbox on first use and stops it in `close()`."""

    capabilities: ClassVar[Capabilities] = Capabilities(deterministic=True, cheap_clone=False)
    name: ClassVar[str] = "code"

    def __init__(
        self,
        sandbox: SandboxLike | None = None,
        *,
        stop_on_pass: bool = True,
        case_time_limit_s: float = 3.0,
        memory_limit_mb: int = 512,
        max_failures_shown: int = 3,
        probe: bool = True,
    ) -> None:
        self._sandbox = sandbox
        self._owned: ProcessSandbox | None = None
        self._lock = asyncio.Lock()
        self.stop_on_pass = stop_on_pass
        self.case_time_limit_s = case_time_limit_s
        self.memory_limit_mb = memory_limit_mb
        self.max_failures_shown = max_failures_shown
        #: run every program on probe inputs too, for execution-agreement selection
        self.probe = probe
        self._probes: list[tuple[Any, ...]] = []
        self._task: Task | None = None
        self._cache: dict[str, CodeState] = {}
        #: sandbox runs made (a repeated program is answered from the cache)
        self.runs = 0

    async def sandbox(self) -> SandboxLike:
        if self._sandbox is None:
            async with self._lock:
                if self._sandbox is None:
                    self._owned = ProcessSandbox(workers=2)
                    await self._owned.start()
                    self._sandbox = self._owned
        return self._sandbox

    async def reset(self, task: Task) -> Step[CodeState]:
        _, tests = task_fields(task)
        self._task = task
        self._cache.clear()
        self._probes = make_probes(task.prompt, task.data["entry_point"], tests) if self.probe else []
        note = f"{len(tests)} public tests" if tests else "no public tests"
        return Step(CodeState(), observation=f"No program yet ({note}).", info={"public_tests": len(tests)})

    async def step(self, state: CodeState, action: CodeAction) -> Step[CodeState]:
        task = self._task
        if task is None:
            raise InvalidAction("call reset(task) before step")
        if not isinstance(action, CodeAction):
            action = self.decode_action(action)
        if action.kind == "plan":
            new = replace(state, plan=action.text.strip())
            return Step(new, observation="Plan recorded; the next program follows it.", reward=state.pass_rate)
        entry, tests = task_fields(task)
        program = assemble(task.prompt, entry, action.text)
        tested = self._cache.get(program)
        if tested is None:
            sandbox = await self.sandbox()
            report, probed = await asyncio.gather(
                run_tests(
                    sandbox,
                    program,
                    tests,
                    entry_point=entry,
                    case_time_limit_s=self.case_time_limit_s,
                    memory_limit_mb=self.memory_limit_mb,
                    prompt=task.prompt,
                ),
                behaviour(sandbox, program, entry, self._probes, memory_limit_mb=self.memory_limit_mb),
            )
            self.runs += 1
            tested = self._state(program, report)
            if probed is not None:
                tested = replace(tested, signature=probed.signature, probe_errors=probed.errors, probes=probed.probes)
            self._cache[program] = tested
        new = replace(
            tested,
            plan=action.plan.strip() if action.plan and action.plan.strip() else state.plan,
            programs=state.programs + 1,
        )
        terminal = self.stop_on_pass and new.all_passed
        info: dict[str, Any] = {
            "passed": new.passed,
            "total": new.total,
            "loaded": new.loaded,
            "pass_rate": round(new.pass_rate, 6),
        }
        if new.signature is not None:
            info.update(signature=new.signature, probe_errors=new.probe_errors, probes=new.probes)
        return Step(new, observation=new.feedback, reward=new.pass_rate, terminal=terminal, info=info)

    def _state(self, program: str, report: TestReport) -> CodeState:
        failures = []
        if not report.load.passed:
            load = report.load
            failures.append(
                TestFailure(
                    test="(loading the program)",
                    status=load.status,
                    error=f"{load.error_type}: {load.message}" if load.error_type else load.message,
                    line=load.line,
                    line_text=load.line_text,
                )
            )
        for r in report.tests:
            if not r.passed:
                failures.append(
                    TestFailure(
                        test=r.source.strip(),
                        status=r.status,
                        expected=r.expected,
                        actual=r.actual,
                        error=f"{r.error_type}: {r.message}" if r.error_type and r.status != "failed" else None,
                        line=r.line if r.file == "solution.py" else None,
                        line_text=r.line_text if r.file == "solution.py" else None,
                    )
                )
        if report.total:
            feedback = report.feedback(self.max_failures_shown)
        elif report.load.passed:
            feedback = "The program loads; there are no public tests to run."
        else:
            feedback = report.feedback()
        return CodeState(
            program=program,
            passed=report.passed if report.load.passed else 0,
            total=report.total,
            loaded=report.load.passed,
            feedback=feedback,
            failures=tuple(failures),
        )

    def render(self, state: CodeState) -> str:
        parts = []
        if state.plan:
            parts.append(f"Plan:\n{state.plan}")
        if state.program is not None:
            shown = state.program
            if self._task is not None:
                entry, _ = task_fields(self._task)
                shown = candidate_view(state.program, self._task.prompt, entry)
            parts.append(f"Program:\n```python\n{shown.rstrip()}\n```")
            parts.append(f"Public tests: {state.feedback}")
        return "\n\n".join(parts) or "No program yet."

    def describe(self, task: Task) -> str:
        _, tests = task_fields(task)
        text = task.prompt.rstrip()
        if tests:
            text += "\n\nPublic tests:\n" + "\n".join(tests)
        return text

    def decode_action(self, data: Any) -> CodeAction:
        if isinstance(data, CodeAction):
            return data
        if isinstance(data, str):
            if not data.strip():
                raise InvalidAction("an empty program")
            return CodeAction(text=data)
        try:
            return CodeAction.model_validate(data)
        except ValueError as exc:
            raise InvalidAction(f"not a code action: {exc}") from None

    def action_key(self, action: CodeAction) -> str:
        if not isinstance(action, CodeAction):  # a failed proposal's missing action
            return repr(action)
        normal = "\n".join(line.rstrip() for line in action.text.strip().splitlines())
        return f"{action.kind}:{hashlib.sha1(normal.encode()).hexdigest()[:16]}"

    def action_text(self, action: CodeAction, state: CodeState | None = None) -> str:
        if not isinstance(action, CodeAction):
            return repr(action)
        lines = [line for line in action.text.strip().splitlines() if line.strip()]
        if action.kind == "plan":
            head = " ".join(action.text.split())
            return f"plan: {head[:70]}{'...' if len(head) > 70 else ''}"
        first = next((line.strip() for line in lines if line.strip().startswith("def ")), lines[0].strip())
        return f"program ({len(lines)} lines): {first[:60]}"

    async def close(self) -> None:
        if self._owned is not None:
            await self._owned.close()
            self._owned = None
            self._sandbox = None
