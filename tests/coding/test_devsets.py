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


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK), str(path)], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", ["devset.jsonl", "devset_hard.jsonl"])
def test_every_dev_problem_is_sound(name: str) -> None:
    done = _check(DATA / name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "40 passed, 0 failed" in done.stdout


def test_the_validator_catches_a_wrong_reference_solution(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (DATA / "devset_hard.jsonl").read_text().splitlines()[:4]]
    rows[2]["canonical_solution"] = "    return 0\n"  # a reference that cannot pass its own tests
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = _check(broken)
    assert done.returncode == 1
    assert "FAIL Hard/2" in done.stdout and "3 passed, 1 failed" in done.stdout
