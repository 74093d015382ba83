"""The web commands and the example: listing tasks, clear errors for bad input, the example runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from treeagent.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_web_list_shows_at_least_twenty_tasks() -> None:
    result = runner.invoke(app, ["web", "list", "--json"])
    assert result.exit_code == 0, result.output
    tasks = json.loads(result.output)
    assert len(tasks) >= 20
    assert {"click-button", "login-user", "enter-text"} <= {t["name"] for t in tasks}
    table = runner.invoke(app, ["web", "list"])
    assert table.exit_code == 0 and "click-button" in table.output


def test_bad_input_gets_a_clear_error_not_a_traceback() -> None:
    cases = [
        (["web", "run", "no-such-task"], "unknown MiniWoB task 'no-such-task'"),
        (["web", "run", "click-button", "-c", "nope"], "unknown controller 'nope'"),
        (["web", "run", "http://127.0.0.1:1/x"], "needs --goal"),
        (["web", "run", "click-button", "--budget", "tokens=5"], "expansions, llm_calls and seconds"),
        (["web", "run", "click-button", "--resume"], "--resume needs --trace"),
        (["eval", "miniwob", "--tasks", "click-button,nope"], "unknown MiniWoB task 'nope'"),
        (["eval", "miniwob", "--controller", "zigzag"], "unknown controller 'zigzag'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output


def test_example_solves_a_task_without_a_model() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "web_search.py"), "--policy", "uniform", "--seed", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "solved: True" in done.stdout
    assert "click(" in done.stdout and "LLM calls: 0" in done.stdout
