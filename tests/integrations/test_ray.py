"""Scale-out on a local Ray instance the session starts: the same results as a local run, a
killed worker's task re-run, a task's own error reported (not retried), eval over Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.ray_tasks import crash_once, fail
from treeagent.compare import CompareConfig, run_compare
from treeagent.ray_backend import ScaleOutError
from treeagent.runner import run_tasks

CLI = [str(Path(sys.executable).parent / "treeagent")]
CASSETTE = Path(__file__).parent / "cassettes" / "eval_greedy.jsonl"
RECORDING = os.environ.get("TREEAGENT_RECORD") == "1"
GAME24 = CompareConfig(
    env="game24",
    controllers=["best_first", "mcts"],
    budgets=[{"max_expansions": 5}, {"max_expansions": 40}],
    tasks=["4 9 10 13", "5 5 8 13", "2 3 5 6"],
    knobs={"best_first.branching": 64},
)


def _without_times(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in summary]


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "150"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


async def test_compare_on_ray_matches_the_local_run(ray_address: str, tmp_path: Path) -> None:
    local = await run_compare(GAME24, out=tmp_path / "local.jsonl")
    assert sum(r.solved for r in local.summary) > 0  # something to compare: not all zeros
    done = _cli(
        "compare", "--env", "game24", "--controllers", "best_first,mcts", "--budget", "expansions=5,40",
        "--tasks", ";".join(GAME24.tasks), "--set", "best_first.branching=64",
        "--out", str(tmp_path / "ray.jsonl"), "--ray", ray_address, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert _without_times(report["summary"]) == _without_times([r.model_dump() for r in local.summary])
    # the same rows in the results file, each search's best path too
    ray_rows = {r["key"]: r for r in map(json.loads, (tmp_path / "ray.jsonl").read_text().splitlines())}
    for row in local.rows:
        assert ray_rows[row["key"]]["best_actions"] == row["best_actions"]
        assert ray_rows[row["key"]]["expansions"] == row["expansions"]


async def test_a_killed_worker_has_its_task_rerun(ray_address: str, tmp_path: Path) -> None:
    specs = [{"n": n, "marker": str(tmp_path / f"attempts-{n}")} for n in range(3)]
    landed: list[int] = []
    results = await run_tasks(crash_once, specs, use_ray=True, on_result=lambda i, r: landed.append(i))
    assert [r["square"] for r in results] == [0, 1, 4]
    for n, result in enumerate(results):
        pids = (tmp_path / f"attempts-{n}").read_text().split()
        assert result["attempts"] == len(pids) == 2  # the first attempt's worker died; Ray ran it again
        assert pids[0] != pids[1]  # ... in another worker process
    assert sorted(landed) == [0, 1, 2]


async def test_a_task_that_raises_is_reported_not_retried(ray_address: str, tmp_path: Path) -> None:
    marker = tmp_path / "attempts"
    with pytest.raises(ScaleOutError, match=r"task 0 failed .*ValueError: bad input 7"):
        await run_tasks(fail, [{"n": 7, "marker": str(marker)}], use_ray=True)
    assert len(marker.read_text().split()) == 1


@pytest.mark.llm
def test_eval_on_ray_gives_the_local_summary(ray_address: str, live_base_url: str, tmp_path: Path) -> None:
    """The coding eval locally, then over Ray, on the same real model replies (recorded in a
    cassette; TREEAGENT_RECORD=1 records them afresh on the local run): the same rows and summary."""
    if RECORDING:
        CASSETTE.unlink(missing_ok=True)
    common = ["eval", "humaneval", "--solver", "greedy", "--budget-calls", "1", "--limit", "2", "--json"]
    env = {**os.environ, "TREEAGENT_BASE_URL": live_base_url, "TREEAGENT_CASSETTE": str(CASSETTE)}
    runs = []
    for mode, extra in (("record" if RECORDING else "replay", []), ("replay", ["--ray", ray_address])):
        out = tmp_path / f"{mode}-{len(runs)}.jsonl"
        done = subprocess.run(
            [*CLI, *common, "--out", str(out), *extra],
            capture_output=True, text=True, timeout=600, env={**env, "TREEAGENT_CASSETTE_MODE": mode},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        runs.append((json.loads(done.stdout.strip().splitlines()[-1]), rows))
    (local, local_rows), (on_ray, ray_rows) = runs
    for key in ("problems", "pass1", "passed", "solved_public", "llm_calls", "tokens"):
        assert local[key] == on_ray[key], key
    assert local["problems"] == 2 and local["llm_calls"] == 2 and local["tokens"] > 0
    assert local_rows.keys() == ray_rows.keys() == {"HumanEval/0", "HumanEval/1"}
    for pid, row in local_rows.items():
        assert ray_rows[pid]["program"] == row["program"] and row["program"]
        assert ray_rows[pid]["passed"] == row["passed"]
        assert ray_rows[pid]["public_passed"] == row["public_passed"]
    # one results file format: the Ray eval resumes from the local run's file (nothing left to do)
    local_file = tmp_path / ("record-0.jsonl" if RECORDING else "replay-0.jsonl")
    again = subprocess.run(
        [*CLI, *common, "--out", str(local_file), "--ray", ray_address],
        capture_output=True, text=True, timeout=300, env={**env, "TREEAGENT_CASSETTE_MODE": "replay"},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    resumed = json.loads(again.stdout.strip().splitlines()[-1])
    assert resumed["resumed"] == 2 and resumed["pass1"] == local["pass1"]
    assert len(local_file.read_text().splitlines()) == 2
