"""`treeagent compare`: one table row per controller and budget, equal budgets respected, a PNG
of success against budget, resume from the results file, clear errors for bad input."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.cli.main import app
from treeagent.compare import CompareError, parse_budget_levels

runner = CliRunner()
TASKS = "4 9 10 13;5 5 8 13;2 3 5 6"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header; fails on anything that is not a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND", "the PNG is truncated"
    return width, height


def test_compare_table_plot_and_equal_budgets(tmp_path: Path) -> None:
    out, png = tmp_path / "cmp.jsonl", tmp_path / "cmp.png"
    args = [
        "compare", "--env", "game24", "--controllers", "best_first,dfsdt,beam", "--budget", "expansions=4,30",
        "--tasks", TASKS, "--set", "branching=64", "--set", "dfsdt.width=3", "--out", str(out), "--plot", str(png),
        "--json",
    ]  # fmt: skip
    done = runner.invoke(app, args, env={"COLUMNS": "160"})
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output.strip().splitlines()[-1])["summary"]
    assert [(r["controller"], r["budget"]) for r in summary] == [
        (c, {"max_expansions": b}) for b in (4, 30) for c in ("best_first", "dfsdt", "beam")
    ]
    table = done.output.split("results:")[0]
    for row in summary:  # each summary row is a line of the printed table
        line = next(
            ln
            for ln in table.splitlines()
            if row["controller"] in ln and f"expansions={row['budget']['max_expansions']} " in ln
        )
        assert f"({row['solved']}/3)" in line and str(row["expansions"]) in line
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 * 2 * 3
    for row in rows:  # every search got its level's budget, and kept to it
        assert row["budget"] == {"max_expansions": (4, 30)[row["level"]]}
        assert row["expansions"] <= row["budget"]["max_expansions"]
        assert row["llm_calls"] == 0 and row["tokens"] == 0
    assert any(r["expansions"] == 4 for r in rows if r["level"] == 0)  # the small budget bound them
    assert sum(r["solved"] for r in summary if r["budget"]["max_expansions"] == 30) > 0
    assert png_size(png)[0] > 100 and png.stat().st_size > 1000

    again = runner.invoke(app, args, env={"COLUMNS": "160"})  # every cell is in the results file
    assert again.exit_code == 0, again.output
    report = json.loads(again.output.strip().splitlines()[-1])
    assert report["resumed"] == 18
    assert [r["solved"] for r in report["summary"]] == [r["solved"] for r in summary]
    assert len(out.read_text().splitlines()) == 18


def test_compare_without_matplotlib_prints_the_table_and_skips_the_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the integrations extra were not installed
    out, png = tmp_path / "cmp.jsonl", tmp_path / "cmp.png"
    args = [
        "compare", "--env", "game24", "--controllers", "best_first", "--budget", "expansions=3",
        "--tasks", TASKS, "--out", str(out), "--plot", str(png), "--json",
    ]  # fmt: skip
    done = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "Traceback" not in done.output and "errors.pydantic.dev" not in done.output
    assert done.output.index("matplotlib is not installed") < done.output.index("best_first")  # said up front
    assert "plot: none (matplotlib is not installed)" in done.output
    assert json.loads(done.output.strip().splitlines()[-1])["plot"] is None
    assert not png.exists() and len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--controllers", "best_first,astar"], "unknown controller"),
        (["--budget", "expansions=5,10", "--budget", "seconds=1,2"], "only one budget may list several values"),
        (["--budget", "pizzas=3"], "bad --budget"),
        (["--budget", "expansions=0"], "bad budget expansions=0: max_expansions: input should be greater"),
        (["--set", "nonsense=1"], "no compared controller takes a knob named 'nonsense'; the knobs: best_first:"),
        (["--set", "mcts.selection=3"], "--set: mcts knob selection=3: Input should be 'uct' or 'puct'"),
        (["--set", "branching=wide"], "--set: best_first knob branching='wide': Input should be a valid integer"),
        (["--tasks", ""], "game24 needs --tasks"),
        (["--tasks", "4 9 x"], "bad Game of 24 task"),
        (["--ray", "127.0.0.1:1"], "nothing answers at 127.0.0.1:1"),
        (["--ray", "nonsense"], "bad Ray address 'nonsense'"),
    ],
)
def test_compare_bad_input_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--controllers": "best_first,mcts", "--budget": "expansions=5", "--tasks": TASKS}
    given = {args[i] for i in range(0, len(args), 2)}
    full = ["compare", "--env", "game24", "--out", str(tmp_path / "x.jsonl"), *args]
    for flag, value in base.items():
        if flag not in given:
            full += [flag, value]
    done = runner.invoke(app, full, env={"COLUMNS": "200"})
    assert done.exit_code == 2, done.output
    assert message in " ".join(done.output.split())
    assert "Traceback" not in done.output


def test_eval_on_ray_with_a_bad_address_is_a_clear_error(tmp_path: Path) -> None:
    args = ["eval", "humaneval", "--limit", "1", "--out", str(tmp_path / "e.jsonl"), "--ray", "127.0.0.1:1"]
    done = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 2, done.output
    assert "nothing answers at 127.0.0.1:1" in done.output and "Traceback" not in done.output
    assert not (tmp_path / "e.jsonl").exists()


def test_budget_levels() -> None:
    assert parse_budget_levels(["expansions=50,10", "seconds=5"]) == [
        {"max_seconds": 5.0, "max_expansions": 10},
        {"max_seconds": 5.0, "max_expansions": 50},
    ]
    with pytest.raises(CompareError, match="not a list of numbers"):
        parse_budget_levels(["llm_calls=a"])


@pytest.mark.llm
def test_compare_coding_solvers_with_the_model(live_base_url: str, tmp_path: Path) -> None:
    """The coding set with the live model: both solvers on one problem, one LLM call each."""
    out = tmp_path / "code.jsonl"
    args = [
        "compare", "--env", "humaneval", "--controllers", "greedy,best_of_n", "--budget", "llm_calls=1",
        "--tasks", "HumanEval/0", "--base-url", live_base_url, "--out", str(out), "--json",
    ]  # fmt: skip
    done = runner.invoke(app, args, env={"COLUMNS": "160"})
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output.strip().splitlines()[-1])["summary"]
    assert [r["controller"] for r in summary] == ["greedy", "best_of_n"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["task"] for r in rows} == {"HumanEval/0"}
    for row in rows:
        assert row["llm_calls"] <= 1 and row["budget"] == {"max_llm_calls": 1}
        assert row["tokens"] > 0 or row["stop_reason"] != "max_llm_calls"
    assert png_size(out.with_suffix(".png"))[1] > 100


@pytest.mark.llm
def test_compare_game_controllers_with_the_model(live_base_url: str, tmp_path: Path) -> None:
    """A game with the LLM policy: every controller makes its one model call (MCTS asks for a few
    children per expansion, not for every legal move at once)."""
    out = tmp_path / "llm.jsonl"
    args = [
        "compare", "--env", "game24", "--controllers", "best_first,mcts", "--budget", "llm_calls=1",
        "--tasks", "4 9 10 13", "--policy", "llm", "--evaluator", "rollout", "--base-url", live_base_url,
        "--out", str(out), "--json",
    ]  # fmt: skip
    done = runner.invoke(app, args, env={"COLUMNS": "160"})
    assert done.exit_code == 0, done.output
    rows = {r["controller"]: r for r in map(json.loads, out.read_text().splitlines())}
    for name in ("best_first", "mcts"):
        assert rows[name]["llm_calls"] == 1 and rows[name]["tokens"] > 0, rows[name]
        assert rows[name]["nodes"] > 1  # the model's moves were expanded
