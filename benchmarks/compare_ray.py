"""The same comparison grid run here and spread over a local Ray (2 CPUs): wall time of each, what
Ray costs to start and per task, and whether both give the same summary (they must: the search is
seeded and has no model).

    python benchmarks/compare_ray.py [--quick]

Game of 24 puzzles from the seeded generator, best-first and MCTS at two expansion budgets. The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from treeagent.compare import CompareConfig, run_compare
from treeagent.environments.games import game24_task, generate_puzzles
from treeagent.ray_backend import ray_cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 puzzles instead of 24")
    args = parser.parse_args()
    puzzles = generate_puzzles(6 if args.quick else 24, seed=7)
    tasks = [" ".join(str(n) for n in game24_task(p).data["numbers"]) for p in puzzles]
    config = CompareConfig(
        env="game24",
        controllers=["best_first", "mcts"],
        budgets=[{"max_expansions": 50}, {"max_expansions": 200}],
        tasks=tasks,
        knobs={"best_first.branching": 64},
    )
    cells = len(config.controllers) * len(config.budgets) * len(tasks)

    started = time.perf_counter()
    local = asyncio.run(run_compare(config))
    local_s = time.perf_counter() - started

    started = time.perf_counter()
    with ray_cluster("local", num_cpus=2):
        ray_start_s = time.perf_counter() - started
        started = time.perf_counter()
        remote = asyncio.run(run_compare(config, use_ray=True))
        ray_s = time.perf_counter() - started

    def strip(report: object) -> list[dict[str, object]]:
        return [{k: v for k, v in r.model_dump().items() if k != "wall_s"} for r in report.summary]  # type: ignore[attr-defined]

    same = strip(local) == strip(remote)
    search_s = sum(float(r["cell_s"]) for r in local.rows)
    per_task_ms = max(0.0, (ray_s * 2 - sum(float(r["cell_s"]) for r in remote.rows)) / cells * 1000)
    print(f"{cells} searches ({len(tasks)} puzzles x 2 controllers x 2 budgets)")
    print(f"  here, one at a time:   {local_s:7.2f} s  (searching {search_s:.2f} s)")
    print(f"  Ray, 2 workers:        {ray_s:7.2f} s  (+ {ray_start_s:.1f} s to start Ray)  -> {local_s / ray_s:.2f}x")
    print(f"  Ray overhead per task: ~{per_task_ms:.0f} ms of worker time; same summary: {same}")
    for row in local.summary:
        print(f"  {row.controller:>10} {row.label:>16}: success {row.success:.3f}")
    print(
        json.dumps(
            {
                "cells": cells,
                "local_s": round(local_s, 3),
                "ray_s": round(ray_s, 3),
                "ray_start_s": round(ray_start_s, 3),
                "speedup": round(local_s / ray_s, 3),
                "ray_overhead_ms_per_task": round(per_task_ms, 1),
                "same_summary": same,
            }
        )
    )


if __name__ == "__main__":
    main()
