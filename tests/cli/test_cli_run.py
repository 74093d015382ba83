"""`treeagent run` on built-in and user-written environments, and its errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from examples.maze_env import MazeEnv, controllers
from treeagent.agents.heuristics import UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.base import Task
from treeagent.search import BestFirst, read_records

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_run_game24_solves_writes_a_trace_and_resumes_from_it(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    args = ["run", "game24", "--task", "4 9 10 13", "--set", "branching=64", "--set", "max_depth=3"]
    result = runner.invoke(app, [*args, "-b", "expansions=100", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert "solved      yes" in result.output
    expands = sum(1 for r in read_records(trace) if r["type"] == "expand")
    assert expands >= 1
    again = runner.invoke(app, [*args, "-b", "expansions=100", "--trace", str(trace), "--resume"])
    assert again.exit_code == 0, again.output
    assert f"({expands} replayed)" in again.output


def test_run_a_user_environment_from_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        app,
        [
            "run", "examples/maze_env.py:MazeEnv", "--task-json", '{"id": "maze"}', "-c", "dfsdt",
            "--evaluator", "reward", "--set", "width=4", "--set", "max_depth=14", "-b", "expansions=5000",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "solved      yes" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuch"], "unknown environment 'nosuch'"),
        (["run", "game24"], "game24 needs --task"),
        (["run", "game24", "--task", "4 x 10 13"], "bad Game of 24 task"),
        (["run", "game24", "--task-json", "{"], "--task-json is not JSON"),
        (["run", "game24", "--task-json", '{"prompt": "x"}'], "--task-json is not a task: id"),
        (["run", "game24", "--task", "1 2 3 4", "-c", "astar"], "unknown controller 'astar'"),
        (["run", "game24", "--task", "1 2 3 4", "--set", "depth"], "bad --set 'depth'"),
        (
            ["run", "game24", "--task", "1 2 3 4", "--set", "speed=3"],
            "bad --set: best_first has no knob 'speed'; its knobs: branching: int = 5, stop_value: float = 1.0, "
            "max_depth: int = 5",
        ),
        (
            ["run", "game24", "--task", "1 2 3 4", "--set", "branching=x"],
            "best_first knob branching='x': Input should be a valid integer",
        ),
        (
            ["run", "game24", "--task", "1 2 3 4", "-c", "mcts", "--set", "selection=3"],
            "mcts knob selection=3: Input should be 'uct' or 'puct' (expected selection: 'uct' | 'puct' = 'uct')",
        ),
        (["run", "game24", "--task", "1 2 3 4", "--set", "branching=0"], "branching must be at least 1, got 0"),
        (["run", "game24", "--task", "1 2 3 4", "-b", "expansions=0"], "bad budget expansions=0: max_expansions"),
        (["run", "game24", "--task", "1 2 3 4", "-b", "steps=3"], "bad budget 'steps=3'"),
        (["run", "game24", "--task", "1 2 3 4", "--resume"], "--resume needs --trace FILE (the trace of the run"),
        (["run", "no_module_here:Env", "--task", "x"], "cannot import 'no_module_here'"),
        (["run", "treeagent.search:Budget", "--task", "x"], "is not an Environment subclass"),
    ],
)
def test_run_user_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_resume_without_a_trace_speaks_the_callers_language() -> None:
    result = runner.invoke(app, ["run", "game24", "--task", "1 2 3 4", "--resume"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "resume=True" not in result.output
    assert " ".join(result.output.split()) == "error: --resume needs --trace FILE (the trace of the run to resume)"
    with pytest.raises(ValueError, match=r"resume=True needs trace=PATH"):
        BestFirst(UniformPolicy(), resume=True)


async def test_one_small_class_works_with_every_controller() -> None:
    env, task = MazeEnv(), Task(id="maze")
    for controller in controllers():
        result = await controller.run(env, task)
        assert result.solved, (controller.name, result.summary())
        position = (await env.reset(task)).state
        for action in result.best_actions:
            position = env.step_now(position, action).state
        assert position == env.find("G")


def test_run_help_lists_every_controllers_knobs_with_types_and_defaults() -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "best_first: branching: int = 5, stop_value: float = 1.0, max_depth: int = 5" in text
    assert "selection: 'uct' | 'puct' = 'uct'" in text and "dfsdt: width: int = 2" in text


def test_a_user_environment_file_imports_its_sibling_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    envs = tmp_path / "envs"
    envs.mkdir()
    (envs / "walls_for_test.py").write_text("GOAL = 2\n")
    (envs / "walker.py").write_text(
        "from walls_for_test import GOAL\n"
        "from treeagent import Environment, Step, Task\n\n"
        "class Walker(Environment):\n"
        "    async def reset(self, task: Task) -> Step:\n"
        "        return Step(0, observation='0')\n\n"
        "    async def step(self, state, action):\n"
        "        return Step(state + 1, observation=str(state + 1), reward=float(state + 1 == GOAL), "
        "terminal=state + 1 == GOAL)\n\n"
        "    def legal_actions(self, state):\n"
        "        return ['step']\n\n"
        "    def render(self, state):\n"
        "        return str(state)\n"
    )
    monkeypatch.chdir(tmp_path)  # the file is named by a path; its folder is not the working directory
    monkeypatch.setattr(sys, "path", list(sys.path))
    args = ["run", "envs/walker.py:Walker", "--task-json", '{"id": "w"}', "--evaluator", "reward", "-b", "expansions=9"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "solved      yes" in result.output
