"""The eval runner's results file: resume from what finished, tolerate a torn last line, refuse to
mix configurations; the summary's arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from treeagent.coding.evaluation import summarise
from treeagent.runner import ResultsFileError, read_results

CONFIG = {"solver": "greedy", "budget_calls": 1, "seed": 0, "early_stop": True}


def _row(pid: str, passed: bool, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": pid, "passed": passed, "public_passed": 1, "public_total": 1 if passed else 2,
        "llm_calls": 1, "tokens": 100, "wall_s": 2.5, "config": CONFIG,
    }  # fmt: skip
    row.update(extra)
    return row


def test_resume_reads_finished_problems_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_row("a", True)) + "\n" + json.dumps(_row("b", False)) + "\n" + '{"id": "c", "pa')
    done = read_results(path, CONFIG)
    assert sorted(done) == ["a", "b"]
    summary = summarise(list(done.values()), "greedy", 1)
    assert (summary.problems, summary.passed, summary.pass1, summary.solved_public) == (2, 1, 0.5, 1)
    assert (summary.llm_calls, summary.tokens, summary.wall_s) == (2, 200, 5.0)
    assert read_results(tmp_path / "none.jsonl", CONFIG) == {}


def test_another_configuration_or_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_row("a", True)) + "\n")
    with pytest.raises(ResultsFileError, match="another configuration"):
        read_results(path, {**CONFIG, "budget_calls": 2})
    path.write_text("not json\n" + json.dumps(_row("a", True)) + "\n")
    with pytest.raises(ResultsFileError, match="is not JSON"):
        read_results(path, CONFIG)
    path.write_text(json.dumps({"hello": 1}) + "\n")
    with pytest.raises(ResultsFileError, match="not an eval result"):
        read_results(path, CONFIG)
