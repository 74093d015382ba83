"""A misconfigured model endpoint stops every command with one clear line and a non-zero exit, and
nothing is cached as a result: an unknown model (the real server answers 404) and a server that is
not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.cli.main import app

runner = CliRunner()
NOWHERE = "http://127.0.0.1:9/v1"  # nothing listens on port 9 (discard)


def _one_line_error(output: str, *needles: str) -> None:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], output


def _commands(base_url: str, tmp_path: Path) -> dict[str, list[str]]:
    return {
        "run": ["run", "game24", "--task", "4 9 10 13", "--policy", "llm", "-b", "llm_calls=2", "--base-url", base_url],
        "solve": ["solve", "HumanEval/23", "-s", "greedy", "--budget-calls", "1", "--base-url", base_url],
        "eval": [
            "eval", "humaneval", "--limit", "1", "-s", "greedy", "--budget-calls", "1",
            "--out", str(tmp_path / "eval.jsonl"), "--base-url", base_url,
        ],
        "miniwob": [
            "eval", "miniwob", "--tasks", "click-test", "--budget-calls", "2", "--out", str(tmp_path / "eval.jsonl"),
            "--base-url", base_url,
        ],
        "compare": [
            "compare", "--env", "game24", "--tasks", "4 9 10 13", "--controllers", "best_first",
            "--budget", "llm_calls=2", "--policy", "llm", "--out", str(tmp_path / "compare.jsonl"),
            "--base-url", base_url,
        ],
    }  # fmt: skip


def _nothing_cached(tmp_path: Path) -> None:
    for name in ("eval.jsonl", "compare.jsonl"):
        out = tmp_path / name
        assert not out.exists() or not out.read_text().strip(), f"{name} cached a failed run"


@pytest.mark.parametrize("command", ["run", "solve", "eval", "miniwob", "compare"])
def test_an_unreachable_server_is_one_line_and_nothing_is_cached(command: str, tmp_path: Path) -> None:
    result = runner.invoke(app, _commands(NOWHERE, tmp_path)[command])
    assert result.exit_code == 2, result.output
    _one_line_error(result.output, "127.0.0.1:9")
    _nothing_cached(tmp_path)


@pytest.mark.llm
@pytest.mark.parametrize("command", ["run", "solve", "eval", "miniwob", "compare"])
def test_an_unknown_model_stops_the_command_and_nothing_is_cached(
    command: str, live_base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREEAGENT_MODEL", "no-such-model")
    result = runner.invoke(app, _commands(live_base_url, tmp_path)[command])
    assert result.exit_code == 2, result.output
    _one_line_error(result.output, "HTTP 404", "no-such-model", "TREEAGENT_MODEL")
    _nothing_cached(tmp_path)
