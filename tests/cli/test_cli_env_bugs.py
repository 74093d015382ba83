"""A user environment's bugs surface: when every node failed the same way the summary says why with
the file and line, a bug outside the nodes is one line with its place, strict mode raises the
first node error, and a step that changes the state it was given is warned about."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.buggy_envs import (
    AppendsToState,
    AppendsToStateAsync,
    BadLegalActions,
    Counter,
    ListCounter,
    StepNameError,
)
from treeagent.agents.heuristics import EnvReward, UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.base import Capabilities, Environment, Step, Task
from treeagent.search import DFSDT, MCTS, BestFirst, Controller
from treeagent.search.state_check import CHECKED_STEPS, StateMutationWarning

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


MUTATED = "changed the state it was given (states must not be mutated; return a new one)"


def test_a_step_that_mutates_its_state_is_warned_about_in_the_summary() -> None:
    code, output = _run("AppendsToState")
    assert f"warning: AppendsToState.step_now {MUTATED}" in output
    assert output.count("warning") == 1 and "StateMutationWarning" not in output
    code, output = _run("ListCounter")
    assert code == 0 and "warning" not in output


@pytest.mark.parametrize(
    ("env", "method", "controller"),
    [
        (AppendsToState(), "step_now", BestFirst(UniformPolicy(), EnvReward())),
        (AppendsToStateAsync(), "step", BestFirst(UniformPolicy(), EnvReward())),
        (AppendsToState(), "step_now", MCTS(UniformPolicy(), simulations=30)),  # lazy children
    ],
)
async def test_a_mutating_step_warns_once_per_run(env: Any, method: str, controller: Controller) -> None:
    with pytest.warns(StateMutationWarning) as caught:
        result = await controller.run(env, Task(id="c"))
    assert [str(w.message) for w in caught] == [f"{type(env).__name__}.{method} {MUTATED}"]
    assert caught[0].filename.endswith("buggy_envs.py")  # where the bug is
    assert result.warnings == [f"{type(env).__name__}.{method} {MUTATED}"]


async def test_a_well_behaved_step_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for env in (ListCounter(), Counter()):
            result = await BestFirst(UniformPolicy(), EnvReward()).run(env, Task(id="c"))
            assert result.solved and result.warnings == []


class _Counted:
    """A state that counts how often the check copies it."""

    copies = 0

    def __init__(self, total: int) -> None:
        self.total = total

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Counted) and other.total == self.total

    def __hash__(self) -> int:
        return self.total

    def __deepcopy__(self, memo: dict[int, Any]) -> _Counted:
        _Counted.copies += 1
        return _Counted(self.total)


class _Uncopyable(_Counted):
    def __deepcopy__(self, memo: dict[int, Any]) -> _Counted:
        raise TypeError("cannot copy a live resource")

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle a live resource")


class _Walk(Environment[Any, int]):
    """A long walk (never solved) over states of a given type."""

    capabilities = Capabilities(cheap_clone=True)

    def __init__(self, state_type: type[_Counted]) -> None:
        self.state_type = state_type

    async def reset(self, task: Task) -> Step[Any]:
        return Step(self.state_type(0))

    async def step(self, state: Any, action: int) -> Step[Any]:
        return self.step_now(state, action)

    def step_now(self, state: Any, action: int) -> Step[Any]:
        return Step(self.state_type(state.total + action))

    def legal_actions(self, state: Any) -> list[int]:
        return [1, 2]

    def render(self, state: Any) -> str:
        return str(state.total)


async def test_only_the_first_steps_are_checked_and_an_uncheckable_state_is_no_fault() -> None:
    _Counted.copies = 0
    result = await DFSDT(UniformPolicy(), max_depth=10).run(_Walk(_Counted), Task(id="w"))
    assert result.stats.env_steps > 10 * CHECKED_STEPS
    assert _Counted.copies == CHECKED_STEPS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = await DFSDT(UniformPolicy(), max_depth=10).run(_Walk(_Uncopyable), Task(id="w"))
    assert result.stats.env_steps > 10 * CHECKED_STEPS and result.warnings == [] and result.failure is None
