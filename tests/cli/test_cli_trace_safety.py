"""`--trace` never damages data: a problem file, a JSONL that is not a trace, or a directory is
refused with one clear line, before any search or model starts, and the file is left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.agents.heuristics import UniformPolicy
from treeagent.cli.main import app
from treeagent.search import BestFirst, TraceError

runner = CliRunner()
PROBLEM = {
    "task_id": "Syn/0",
    "prompt": 'def f(x):\n    """Return x.\n    >>> f(1)\n    1\n    """\n',
    "entry_point": "f",
    "test": "def check(c):\n    assert c(2) == 2\n",
}


def _refused(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_solve_refuses_to_write_its_trace_into_the_problem_file(tmp_path: Path) -> None:
    problems = tmp_path / "mine.jsonl"
    problems.write_text(json.dumps(PROBLEM) + "\n")
    before = problems.read_bytes()
    # no model is needed: the path is refused before anything starts
    _refused(
        ["solve", str(problems), "--trace", str(problems), "--base-url", "http://127.0.0.1:9/v1"],
        "is not a treeagent trace",
    )
    assert problems.read_bytes() == before


def test_run_refuses_a_jsonl_that_is_not_a_trace_and_a_directory(tmp_path: Path) -> None:
    other = tmp_path / "results.jsonl"
    other.write_text('{"id": "a", "solved": true}\n{"id": "b"')  # no final newline: nothing is cut either
    before = other.read_bytes()
    run = ["run", "game24", "--task", "4 9 10 13", "-b", "expansions=5", "--trace"]
    _refused([*run, str(other)], "exists and is not a treeagent trace")
    assert other.read_bytes() == before
    _refused([*run, str(tmp_path)], "is a directory; give a file in it")


def test_a_trace_or_an_empty_file_is_accepted_and_the_api_refuses_the_rest(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text("")
    run = ["run", "game24", "--task", "4 9 10 13", "-b", "expansions=5", "--trace", str(trace)]
    assert runner.invoke(app, run).exit_code == 0
    assert runner.invoke(app, run).exit_code == 0  # a second run appends to the trace
    assert sum(1 for line in trace.read_text().splitlines() if '"type": "run"' in line) == 2
    other = tmp_path / "notes.jsonl"
    other.write_text("[1, 2]\n")
    with pytest.raises(TraceError, match="not a treeagent trace"):
        BestFirst(UniformPolicy(), trace=other)
