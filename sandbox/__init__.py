"""Isolated code execution: every part of the toolkit runs model-written code through here.

Imports nothing else of the project.

    from treeagent.sandbox import ProcessSandbox, RunRequest, run_tests

    async with ProcessSandbox() as sb:
        result = await sb.run(RunRequest(code="print(sum(range(10)))"))
        report = await run_tests(sb, solution_code, ["assert add(1, 2) == 3"])
"""

from treeagent.sandbox.container import DockerSandbox
from treeagent.sandbox.models import RunRequest, RunResult, SandboxError, Verdict
from treeagent.sandbox.pool import SandboxIsolationWarning
from treeagent.sandbox.process import ProcessSandbox
from treeagent.sandbox.testing import TestCase, TestReport, TestResult, cases_from_check, run_check, run_tests

__all__ = [
    "DockerSandbox",
    "ProcessSandbox",
    "RunRequest",
    "RunResult",
    "SandboxError",
    "SandboxIsolationWarning",
    "TestCase",
    "TestReport",
    "TestResult",
    "Verdict",
    "cases_from_check",
    "run_check",
    "run_tests",
]
