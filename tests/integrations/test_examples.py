"""The examples run: a new environment in under 60 lines searched by every controller (from
Python and from `treeagent run`), and one coding problem solved with `treeagent.solve_code`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.cli.main import app
from treeagent.environments.base import InvalidAction, Task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_new_environment_is_small_and_every_controller_solves_it(capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from examples.new_environment import main

    assert len((EXAMPLES / "new_environment.py").read_text().splitlines()) < 60
    asyncio.run(main())
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["best_first", "dfsdt", "mcts", "beam"]
    for line in lines:
        assert "solved=True" in line, line
        moves = ast.literal_eval(line.split(": ", 2)[2])  # the printed list of moves
        number = 2
        for move in moves:
            number = {"+1": number + 1, "*2": number * 2, "*3": number * 3}[move]
        assert number == 29 and len(moves) <= 5


async def test_new_environment_rejects_a_bad_move() -> None:
    from examples.new_environment import ReachTarget

    env = ReachTarget()
    step = await env.reset(Task(id="t", data={"start": 3, "target": 9, "moves": 2}))
    after = await env.step(step.state, "*3")
    assert after.terminal and after.reward == 1.0 and step.state == (3, 2, 9)  # the input state is untouched
    with pytest.raises(InvalidAction, match="not a move"):
        await env.step(step.state, "-1")


def test_new_environment_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    done = CliRunner().invoke(
        app,
        ["run", "examples/new_environment.py:ReachTarget", "--task-json", '{"id": "r", "data": {"target": 29}}',
         "-c", "best_first", "--budget", "expansions=200", "--evaluator", "rollout"],
        env={"COLUMNS": "160"},
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "solved" in done.output and "yes" in done.output.split("solved", 1)[1].splitlines()[0]


@pytest.mark.llm
def test_coding_example_solves_with_the_live_model(live_base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from examples.coding_solve import HIDDEN_TESTS, main

    monkeypatch.setenv("TREEAGENT_BASE_URL", live_base_url)
    solution = main("greedy", 1)
    assert solution.result.stats.llm_calls <= 1 and solution.solver == "greedy"
    assert solution.public_total == 2  # the docstring's two examples
    assert solution.hidden is not None and solution.hidden.total == len(HIDDEN_TESTS)
    if solution.program is not None:
        assert "def running_max" in solution.program
