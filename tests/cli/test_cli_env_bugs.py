"""A user environment's bugs surface: when every node failed the same way the summary says why with
the file and line, a bug outside the nodes is one line with its place, and strict mode raises the
first node error."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.cli.buggy_envs import BadLegalActions, Counter, StepNameError
from treeagent.agents.heuristics import EnvReward, UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.base import Task
from treeagent.search import BestFirst

runner = CliRunner()
TASK = ["--task-json", '{"id": "c"}', "--evaluator", "reward"]


def _run(cls: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", f"tests/cli/buggy_envs.py:{cls}", *TASK, *extra], env={"COLUMNS": "200"})
    return result.exit_code, " ".join(result.output.split())


def test_every_node_failing_the_same_way_says_why_with_the_place() -> None:
    code, output = _run("StepNameError")
    assert code == 1
    assert "every node failed the same way: NameError: name 'totl' is not defined" in output
    assert "tests/cli/buggy_envs.py:33)" in output
    assert "Traceback" not in output


def test_a_bug_in_legal_actions_names_its_place() -> None:
    code, output = _run("BadLegalActions")
    assert code == 2
    assert "error: ValueError: tuple.index(x): x not in tuple (tests/cli/buggy_envs.py:39)" in output
    assert "Traceback" not in output


def test_a_uniform_policy_without_legal_actions_is_one_line() -> None:
    code, output = _run("NoLegalActions")
    assert code == 2 and output.startswith("error: NoLegalActions has no finite action list")


def test_a_working_environment_is_no_failure() -> None:
    code, output = _run("Counter")
    assert code == 0 and "solved yes" in output and "why" not in output


def test_strict_shows_the_first_node_error() -> None:
    code, output = _run("StepNameError", "--strict")
    assert code == 1
    assert "error: --strict: a node failed: NameError: name 'totl' is not defined" in output
    assert "(tests/cli/buggy_envs.py:33)" in output


async def test_strict_mode_raises_and_the_result_names_the_one_error() -> None:
    task = Task(id="c")
    with pytest.raises(NameError, match="totl"):
        await BestFirst(UniformPolicy(), EnvReward(), strict=True).run(StepNameError(), task)
    result = await BestFirst(UniformPolicy(), EnvReward()).run(StepNameError(), task)
    assert result.failure is not None and result.failure.startswith("NameError: name 'totl' is not defined (")
    assert (await BestFirst(UniformPolicy(), EnvReward()).run(Counter(), task)).failure is None
    with pytest.raises(ValueError, match="not in tuple"):
        await BestFirst(UniformPolicy(), EnvReward()).run(BadLegalActions(), task)
