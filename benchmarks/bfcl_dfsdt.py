"""ReAct chain vs DFSDT vs best-first on BFCL multi_turn_base, at the same budget of LLM calls.

    TREEAGENT_BASE_URL=http://127.0.0.1:8790/v1 python benchmarks/bfcl_dfsdt.py --limit 3 --budget-calls 8

Tasks are taken round-robin over BFCL's backend combinations (file system, trading, travel, ...),
so a small --limit still spans several backends. Success is BFCL's multi-turn checker on the path
each search returns. Also measured: the cost of copying a task's backend state for a branch
against the cost of one tool call through the environment. Prints a table per controller; the
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import statistics
import time
from collections import defaultdict
from typing import Any

from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.vllm_server import serve_or_connect
from treeagent.environments.base import Task
from treeagent.environments.tools.bfcl import BFCLEnv, ground_truth, ground_truth_actions, load_tasks
from treeagent.tools.suite import TOOL_CONTROLLERS, build_controller, result_row


def stratified(tasks: list[Task], limit: int) -> list[Task]:
    """Round-robin over the backend combinations, in BFCL's order within each."""
    groups: dict[tuple[str, ...], list[Task]] = defaultdict(list)
    for task in tasks:
        groups[tuple(task.data["involved_classes"])].append(task)
    order: list[Task] = []
    queues = list(groups.values())
    while len(order) < limit and any(queues):
        for queue in queues:
            if queue and len(order) < limit:
                order.append(queue.pop(0))
    return order


async def copy_cost(env: BFCLEnv, tasks: list[Task], repeats: int = 50) -> dict[str, float]:
    """Microseconds: deep-copying a task's backends; one tool call through the env; the bare method."""
    copies, steps, bare = [], [], []
    for task in tasks:
        root = await env.reset(task)
        backends = root.state.backends
        started = time.perf_counter()
        for _ in range(repeats):
            copy.deepcopy(dict(backends))
        copies.append((time.perf_counter() - started) / repeats * 1e6)
        first = ground_truth_actions(root.state, ground_truth(task.id)[0])[0]
        tool = root.state.toolbox.get(first.name)
        assert tool is not None
        started = time.perf_counter()
        for _ in range(repeats):
            await env.step(root.state, first)
        steps.append((time.perf_counter() - started) / repeats * 1e6)
        scratch = copy.deepcopy(dict(backends))
        started = time.perf_counter()
        for _ in range(repeats):
            with contextlib.suppress(Exception):
                tool.run(scratch, dict(first.arguments))
        bare.append((time.perf_counter() - started) / repeats * 1e6)
    return {
        "copy_us": round(statistics.mean(copies), 1),
        "tool_step_us": round(statistics.mean(steps), 1),
        "method_call_us": round(statistics.mean(bare), 1),
    }


async def main(limit: int, budget_calls: int, base_url: str | None, seed: int) -> dict[str, Any]:
    env = BFCLEnv()
    tasks = stratified(load_tasks("multi_turn_base"), limit)
    costs = await copy_cost(env, tasks)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TOOL_CONTROLLERS}
    native: bool | None = None
    async with serve_or_connect(base_url) as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
        for task in tasks:
            searches = {name: build_controller(name, llm, budget_calls, seed=seed) for name in TOOL_CONTROLLERS}
            started = time.perf_counter()
            results = await asyncio.gather(*(s.run(env, task) for s in searches.values()))
            wall = time.perf_counter() - started
            for name, result in zip(searches, results, strict=True):
                row = result_row(result, "multi_turn_base")
                rows[name].append(row)
                print(
                    f"{task.id:<22} {name:<10} success={row['success']!s:<5} finished={row['finished']!s:<5} "
                    f"calls={row['llm_calls']:<3} tokens={row['tokens']:<6} nodes={row['nodes']:<3} "
                    f"({wall:.0f} s for the three)",
                    flush=True,
                )
            native = getattr(searches["dfsdt"].policy, "native", None)
    n = len(tasks)
    summary: dict[str, Any] = {"tasks": n, "budget_calls": budget_calls}
    print(f"\n{'controller':<11} {'success':>8} {'finished':>9} {'calls/task':>11} {'tokens/task':>12}")
    for name in TOOL_CONTROLLERS:
        done = rows[name]
        success = sum(r["success"] for r in done) / n
        finished = sum(r["finished"] for r in done) / n
        calls = sum(r["llm_calls"] for r in done) / n
        tokens = sum(r["tokens"] for r in done) / n
        print(f"{name:<11} {success:>8.3f} {finished:>9.3f} {calls:>11.1f} {tokens:>12.0f}")
        summary[f"{name}_success"] = round(success, 4)
        summary[f"{name}_finished"] = round(finished, 4)
    summary["calls_per_task"] = {
        name: round(sum(r["llm_calls"] for r in rows[name]) / n, 2) for name in TOOL_CONTROLLERS
    }
    summary["tokens_per_task"] = {name: round(sum(r["tokens"] for r in rows[name]) / n, 1) for name in TOOL_CONTROLLERS}
    summary.update(costs)
    summary["copy_vs_tool_step"] = round(costs["copy_us"] / costs["tool_step_us"], 3)
    summary["native_tools"] = native
    summary["task_ids"] = [t.id for t in tasks]
    print(
        f"\nstate copy per branch {costs['copy_us']:.0f} us vs one tool call through the env "
        f"{costs['tool_step_us']:.0f} us (the bare method {costs['method_call_us']:.0f} us)"
    )
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=3, help="tasks (round-robin over backend combinations)")
    parser.add_argument("--budget-calls", type=int, default=8, help="LLM calls per task and controller")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (default: the configured one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.limit < 1 or args.budget_calls < 1:
        parser.error("--limit and --budget-calls must be at least 1")
    print(json.dumps(asyncio.run(main(args.limit, args.budget_calls, args.base_url, args.seed))))
