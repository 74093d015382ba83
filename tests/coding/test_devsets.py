"""Our own dev sets hold up: every reference solution passes its hidden tests, a body that returns
None fails them, docstring examples agree with the reference, and the validator catches a broken row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
CHECK = DATA / "check_devset.py"


def _check(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), *options, str(path)], capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    ("name", "options", "count"),
    [
        ("devset.jsonl", (), 40),
        ("devset_hard.jsonl", (), 40),
        ("devset_easy.jsonl", ("--all-examples",), 60),  # every problem shows examples, not only even ids
    ],
)
def test_every_dev_problem_is_sound(name: str, options: tuple[str, ...], count: int) -> None:
    done = _check(DATA / name, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{count} passed, 0 failed" in done.stdout


def test_the_validator_catches_a_wrong_reference_solution(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (DATA / "devset_hard.jsonl").read_text().splitlines()[:4]]
    rows[2]["canonical_solution"] = "    return 0\n"  # a reference that cannot pass its own tests
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = _check(broken)
    assert done.returncode == 1
    assert "FAIL Hard/2" in done.stdout and "3 passed, 1 failed" in done.stdout


def test_all_examples_wants_examples_on_every_id(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (DATA / "devset_easy.jsonl").read_text().splitlines()[:4]]
    rows[1]["prompt"] = rows[1]["prompt"].split("    >>>")[0] + '    """\n'  # odd id, examples dropped
    stripped = tmp_path / "stripped.jsonl"
    stripped.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = _check(stripped, "--all-examples")
    assert done.returncode == 1
    assert "FAIL Easy/1" in done.stdout and "3 passed, 1 failed" in done.stdout
