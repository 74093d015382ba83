"""The command line: play, show, help and their errors (run in-process through typer's runner)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import BestFirst, Budget

runner = CliRunner()


def test_play_reports_wins_draws_losses_and_speed() -> None:
    result = runner.invoke(app, ["play", "tic_tac_toe", "-n", "2", "--simulations", "200", "--opponent", "random"])
    assert result.exit_code == 0, result.output
    assert "treeagent-mcts(200)" in result.output and "sims/s" in result.output
    row = next(line for line in result.output.splitlines() if "treeagent-mcts(200)" in line and "│" in line)
    wins, draws, losses = (int(x) for x in row.split("│")[2:5])
    assert wins + draws + losses == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["play", "conect_four"], "Did you mean: connect_four"),
        (["play", "tic_tac_toe", "--opponent", "gnugo"], "unknown opponent 'gnugo'"),
        (["play", "tic_tac_toe", "--simulations", "0"], "Invalid value"),
        (["show", "/no/such/trace.jsonl"], "no trace file"),
    ],
)
def test_user_errors_are_one_clear_line_not_a_traceback(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["run", "solve", "eval", "compare", "play", "web run"])
def test_help_reads_whole_in_an_80_column_terminal(command: str) -> None:
    narrow = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    wide = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.output.splitlines()
    assert not [line for line in lines if line.rstrip().endswith("…")]
    assert "…" not in narrow.output and max(len(line) for line in lines) <= 80
    # the option summaries read as lines of text, not stacked a word a line in a thin column
    assert len(lines) <= 1.25 * len(wide.output.splitlines())


def test_show_prints_the_tree_with_the_best_path(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    controller = BestFirst(
        UniformPolicy(), RandomRollout(n=4), branching=64, max_depth=3, budget=Budget(max_expansions=200), trace=trace
    )
    search = asyncio.run(controller.run(Game24Env(), game24_task((4, 9, 10, 13))))
    assert search.solved
    result = runner.invoke(app, ["show", str(trace), "--max-children", "3"])
    assert result.exit_code == 0, result.output
    assert "best_first on task 24:4 9 10 13" in result.output
    assert " → ".join(search.best_texts) in result.output
    for text in search.best_texts:
        assert text in result.output
    assert "★" in result.output
    assert "outcome" in result.output and "solved" in result.output


def test_show_says_a_coding_search_passed_public_tests_not_solved(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    budget = Budget(max_expansions=200)
    controller = BestFirst(UniformPolicy(), RandomRollout(n=4), branching=64, max_depth=3, budget=budget, trace=trace)
    asyncio.run(controller.run(Game24Env(), game24_task((4, 9, 10, 13))))
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    records[0]["task"]["data"] = {"entry_point": "f", "public_tests": ["assert f() == 1"]}  # as a code task's
    trace.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(app, ["show", str(trace)])
    assert result.exit_code == 0, result.output
    outcome = next(line for line in result.output.splitlines() if line.strip().startswith("outcome"))
    assert "passed public tests" in outcome and "solved" not in outcome


def test_show_marks_an_unfinished_run(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    asyncio.run(
        BestFirst(UniformPolicy(), branching=3, max_depth=2, trace=trace).run(Game24Env(), game24_task((1, 1, 1, 1)))
    )
    lines = trace.read_text().splitlines()
    trace.write_text("\n".join(line for line in lines if '"type": "end"' not in line) + "\n")
    result = runner.invoke(app, ["show", str(trace)])
    assert result.exit_code == 0, result.output
    assert "unfinished" in result.output
    assert "--resume" in " ".join(result.output.split()) and "resume=True" not in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: {k: v for k, v in r.items() if k != "parent"}, "bad node record: parent"),
        (lambda r: {**r, "parent": 999}, "names node 999, which no earlier node record defines"),
        (lambda r: {**r, "id": "x"}, "bad node record: id"),
    ],
)
def test_show_names_a_broken_node_record_as_view_and_export_do(tmp_path: Path, edit: Any, message: str) -> None:
    trace = tmp_path / "run.jsonl"
    asyncio.run(
        BestFirst(UniformPolicy(), branching=3, max_depth=2, trace=trace).run(Game24Env(), game24_task((1, 1, 1, 1)))
    )
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    broken = next(i for i, r in enumerate(records) if r["type"] == "node" and r["parent"] is not None)
    records[broken] = edit(records[broken])
    trace.write_text("".join(json.dumps(r) + "\n" for r in records))
    for command in ("show", "export"):
        result = runner.invoke(app, [command, str(trace)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert f"{trace.name}:{broken + 1}" in result.output and message in " ".join(result.output.split())
