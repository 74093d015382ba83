"""A search killed mid-run resumes from its trace without redoing recorded expansions."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.search.resume_worker import PUZZLE, SlowUniform, make_controller
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import TraceError, last_run, read_records

ROOT = Path(__file__).resolve().parents[2]


def _count(path: Path, kind: str) -> int:
    try:
        return sum(1 for r in read_records(path) if r["type"] == kind)
    except TraceError:
        return 0


def _kill_after(name: str, trace: Path, expansions: int) -> int:
    """Start the worker, SIGKILL it once `expansions` are in its trace; the number recorded."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/search/resume_worker.py"), name, str(trace)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while _count(trace, "expand") < expansions:
        assert proc.poll() is None, "the worker ended before it could be killed"
        assert time.monotonic() < deadline, "the worker wrote no expansions"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _count(trace, "expand")


@pytest.mark.parametrize("name", ["dfsdt", "best_first"])
async def test_killed_search_resumes_without_redoing_expansions(tmp_path: Path, name: str) -> None:
    env = Game24Env()
    task = game24_task(PUZZLE)
    # the same search, uninterrupted, for reference
    reference = await make_controller(name, SlowUniform(), str(tmp_path / "ref.jsonl"), resume=False).run(env, task)

    trace = tmp_path / "killed.jsonl"
    recorded = await asyncio.to_thread(_kill_after, name, trace, 6)
    assert 6 <= recorded < reference.stats.expansions
    assert not any(r["type"] == "end" for r in read_records(trace))

    policy = SlowUniform()
    resumed = await make_controller(name, policy, str(trace), resume=True).run(env, task)
    # every recorded expansion came from the trace; only the rest asked the policy
    assert resumed.stats.replayed_expansions == recorded
    assert policy.calls == resumed.stats.expansions - recorded
    # and the search ended exactly where the uninterrupted one did
    assert resumed.stats.expansions == reference.stats.expansions
    assert resumed.solved == reference.solved
    assert resumed.best_texts == reference.best_texts
    records = last_run(trace)
    assert records[0]["resumed"] is True and records[-1]["type"] == "end"


async def test_resume_refuses_a_trace_of_another_task(tmp_path: Path) -> None:
    env = Game24Env()
    trace = tmp_path / "t.jsonl"
    await make_controller("dfsdt", SlowUniform(), str(trace), resume=False).run(env, game24_task(PUZZLE))
    with pytest.raises(TraceError, match="not dfsdt on '24:1 2 3 4'"):
        await make_controller("dfsdt", SlowUniform(), str(trace), resume=True).run(env, game24_task((1, 2, 3, 4)))


def test_torn_last_line_is_skipped_and_garbage_is_refused(tmp_path: Path) -> None:
    good = '{"type": "run", "controller": "dfsdt", "task": {"id": "x"}}\n'
    torn = tmp_path / "torn.jsonl"
    torn.write_text(good + '{"type": "node", "id": ')
    assert [r["type"] for r in read_records(torn)] == ["run"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n" + good)
    with pytest.raises(TraceError, match="not a JSON line"):
        list(read_records(bad))
    with pytest.raises(TraceError, match="no trace file"):
        list(read_records(tmp_path / "missing.jsonl"))
