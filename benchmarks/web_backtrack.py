"""Returning to a search node on a web page: reset-and-replay vs our pool; then greedy vs
best-first with the embedded model on MiniWoB++.

Part 1 (no model). On a MiniWoB++ page with many steps (click-checkboxes-large: each click on a
checkbox is one step), walk a path of d = 1..6 actions to a node N, explore a sibling branch
(from N's parent, one other action and one step below it), then return to N:
  (a) replay: reset (a new context on the start page) and replay N's d actions, as the paper's
      code does every time it moves to another node;
  (b) ours: N's page is still live in the pool, so returning is a lookup; when N was evicted
      (`ours_evicted`), it is replayed from a warm spare start page (no new context, no load).
Every path uses the same primitives (act, settle, read the accessibility tree, check the
fingerprint). Memory per live state is the browser's proportional set size (PSS) per extra
live page. Goal: speedup_at_depth_5 >= 5.

Part 2 (the model at TREEAGENT_BASE_URL, or the embedded one). Greedy (one action per step,
temperature 0) vs best-first (branching 3, value = mean of 2 verdicts) on a few wired tasks,
one seed each; `--tasks all --episodes 3` for more. Rows go to runs/bench-web-*.jsonl (resumable).

    python benchmarks/web_backtrack.py [--quick] [--no-model] [--tasks all|N|a,b] [--episodes K]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from treeagent.environments.web import MINIWOB_TASKS, Browser, WebAction, WebEnv, WebState, miniwob_task

PAGE = "click-checkboxes-large"
DEFAULT_TASKS = ("click-test-2", "click-button", "click-link", "click-dialog-2", "focus-text-2", "enter-text")


def checkboxes(state: WebState) -> list[WebAction]:
    return [WebAction(kind="click", id=e.id) for e in state.elements if e.role == "checkbox"]


async def walk(env: WebEnv, state: WebState, actions: list[WebAction]) -> WebState:
    for action in actions:
        state = (await env.step(state, action)).state
    return state


async def backtrack_once(browser: Browser, depth: int, seed: int) -> dict[str, float]:
    """One measurement at `depth`: ms to return to N by each method, and to explore the sibling."""
    ours = WebEnv(browser=browser, max_live=8, settle_ms=10)
    plain = WebEnv(browser=browser, max_live=8, settle_ms=10, spare_starts=0)
    task = miniwob_task(PAGE, seed)
    try:
        root = await ours.reset(task)
        boxes = checkboxes(root.state)
        if len(boxes) < depth + 2:
            raise SystemExit(f"{PAGE} seed {seed} shows {len(boxes)} checkboxes; need {depth + 2}")
        parent = await walk(ours, root.state, boxes[: depth - 1])
        node = await walk(ours, parent, [boxes[depth - 1]])
        await ours.settled()
        started = time.perf_counter()
        sibling = await walk(ours, parent, [boxes[depth], boxes[depth + 1]])  # the sibling branch
        sibling_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await ours.ensure_live(node)  # back to N
        ours_ms = (time.perf_counter() - started) * 1000
        assert sibling.path[-1] == boxes[depth + 1]
        # N evicted: it comes back from the warm spare start page
        await ours.settled()
        await ours.pool.discard(lambda key: True)
        started = time.perf_counter()
        await ours.ensure_live(node)
        evicted_ms = (time.perf_counter() - started) * 1000
        # the baseline: a new context on the start page, then replay every action of N's path
        await plain.reset(task)
        await plain.pool.discard(lambda key: True)
        started = time.perf_counter()
        await plain.ensure_live(node)
        replay_ms = (time.perf_counter() - started) * 1000
    finally:
        await ours.close()
        await plain.close()
    return {"ours": ours_ms, "evicted": evicted_ms, "replay": replay_ms, "sibling": sibling_ms}


async def memory_per_live_state(browser: Browser, extra: int) -> float:
    env = WebEnv(browser=browser, max_live=extra + 2, settle_ms=10, spare_starts=0)
    try:
        root = await env.reset(miniwob_task(PAGE, 1))
        await asyncio.sleep(1.0)
        before = await asyncio.to_thread(browser.memory_mb)
        boxes = checkboxes(root.state)
        for i in range(extra):  # each step from the root needs a page of its own: one more live state
            await env.step(root.state, boxes[i % len(boxes)] if i < len(boxes) else WebAction(kind="scroll"))
        await asyncio.sleep(1.0)
        after = await asyncio.to_thread(browser.memory_mb)
        live = len(env.pool)
    finally:
        await env.close()
    return (after - before) / max(1, live - 1)


async def part_one(repeats: int) -> dict[str, Any]:
    browser = Browser()
    try:
        rows: dict[int, dict[str, list[float]]] = {}
        for depth in range(1, 7):
            for r in range(repeats):
                got = await backtrack_once(browser, depth, seed=1 + r)
                for k, v in got.items():
                    rows.setdefault(depth, {}).setdefault(k, []).append(v)
            med = {k: statistics.median(v) for k, v in rows[depth].items()}
            print(
                f"depth {depth}: return to node  replay {med['replay']:7.1f} ms | ours {med['ours']:6.2f} ms "
                f"(evicted: {med['evicted']:6.1f} ms) | sibling branch explored in {med['sibling']:6.1f} ms",
                flush=True,
            )
        mb = await memory_per_live_state(browser, 6)
    finally:
        await browser.close()
    med_of = {d: {k: statistics.median(v) for k, v in kinds.items()} for d, kinds in rows.items()}
    replay = {d: round(m["replay"], 1) for d, m in med_of.items()}
    ours = {d: round(m["ours"], 2) for d, m in med_of.items()}
    evicted = {d: round(m["evicted"], 1) for d, m in med_of.items()}
    speedup = replay[5] / max(ours[5], 0.01)
    print(
        f"speedup at depth 5: {speedup:.0f}x (evicted node: {replay[5] / evicted[5]:.1f}x); {mb:.1f} MiB per live state"
    )
    return {
        "replay_ms_by_depth": replay,
        "ours_ms_by_depth": ours,
        "ours_evicted_ms_by_depth": evicted,
        "speedup_at_depth_5": round(speedup, 1),
        "speedup_evicted_at_depth_5": round(replay[5] / evicted[5], 2),
        "mb_per_live_state": round(mb, 1),
        "repeats": repeats,
        "page": PAGE,
    }


async def part_two(tasks: list[str], episodes: int) -> dict[str, Any]:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.agents.llm.vllm_server import serve_or_connect
    from treeagent.web import WebSearchConfig, run_miniwob_eval

    configs = {
        "greedy": WebSearchConfig(controller="greedy", max_expansions=6, max_depth=6, concurrency=1),
        "best_first": WebSearchConfig(
            controller="best_first", branching=3, samples=2, max_expansions=4, max_depth=6, concurrency=2
        ),
    }
    out: dict[str, Any] = {"tasks": tasks, "episodes_per_task": episodes}
    seeds = list(range(episodes))
    async with serve_or_connect() as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
        for name, config in configs.items():
            results = Path("runs") / f"bench-web-{name}.jsonl"
            summary = await run_miniwob_eval(tasks, seeds, llm=llm, config=config, out=results)
            print(
                f"{name:10s} success {summary.solved}/{summary.episodes} = {summary.success_rate:.2f}, "
                f"{summary.llm_calls} LLM calls, {summary.wall_s:.0f} s",
                flush=True,
            )
            out[f"{name}_success_rate"] = round(summary.success_rate, 3)
            out[f"{name}_llm_calls"] = summary.llm_calls
            out[f"{name}_by_task"] = summary.as_dict()["by_task"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="web backtracking: replay from the start vs our pool")
    parser.add_argument("--quick", action="store_true", help="one repeat per depth, three tasks")
    parser.add_argument("--no-model", action="store_true", help="skip the greedy vs best-first part")
    parser.add_argument("--tasks", default=None, help="'all', a number of wired tasks, or a comma list")
    parser.add_argument("--episodes", type=int, default=1, help="seeds per task in the model part")
    parser.add_argument("--repeats", type=int, default=None, help="measurements per depth (median kept)")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    result: dict[str, Any] = asyncio.run(part_one(repeats))
    if not args.no_model:
        if args.tasks == "all":
            tasks = [t.name for t in MINIWOB_TASKS]
        elif args.tasks and args.tasks.isdigit():
            tasks = [t.name for t in MINIWOB_TASKS[: int(args.tasks)]]
        elif args.tasks:
            tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        else:
            tasks = list(DEFAULT_TASKS[:3] if args.quick else DEFAULT_TASKS)
        result.update(asyncio.run(part_two(tasks, args.episodes)))
    result["goal_met"] = result["speedup_at_depth_5"] >= 5
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
