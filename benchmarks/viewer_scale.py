"""How the tree viewer scales: trace size -> page size, build time, and time to a usable page in Chromium.

Traces come from MCTS with a uniform policy on connect_four (no model), one node record per
simulation. For each size it prints the trace and page sizes, the seconds to load the trace and
write the page, the seconds until the page has rendered in headless Chromium, and the seconds to
jump to the deepest node (opening every ancestor). Last line: one JSON object.

    .venv/bin/python benchmarks/viewer_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.environments.web.browser import CHROMIUM, LAUNCH_ARGS
from treeagent.search import MCTS
from treeagent.search.trace_tree import load_tree
from treeagent.viewer import render


async def make_trace(path: Path, nodes: int) -> float:
    started = time.perf_counter()
    controller = MCTS(UniformPolicy(), RandomRollout(seed=1), simulations=nodes, seed=1, trace=path)
    await controller.run(OpenSpielEnv("connect_four"), game_task("connect_four"))
    return time.perf_counter() - started


def build(trace: Path, out: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    tree = load_tree(trace)
    loaded = time.perf_counter() - started
    out.write_text(render(tree), encoding="utf-8")
    deepest = max(tree.nodes.values(), key=lambda n: (n.depth, n.id)).id
    return loaded, time.perf_counter() - started - loaded, deepest


async def browse(browser: Any, url: str, deepest: int) -> tuple[float, float, int]:
    context = await browser.new_context()
    page = await context.new_page()
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    ready = time.perf_counter() - started
    started = time.perf_counter()
    await page.fill("#goto", str(deepest))
    await page.click("#goto-form button")
    await page.wait_for_selector(f"#details[data-node='{deepest}']")
    jump = time.perf_counter() - started
    rows = await page.locator("li.node").count()
    await context.close()
    return ready, jump, rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 nodes only")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 30_000]
    from playwright.async_api import async_playwright

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))
            for n in sizes:
                trace, html = Path(tmp) / f"t{n}.jsonl", Path(tmp) / f"t{n}.html"
                search_s = await make_trace(trace, n)
                load_s, write_s, deepest = await asyncio.to_thread(build, trace, html)
                ready_s, jump_s, rows = await browse(browser, html.resolve().as_uri(), deepest)
                row = {
                    "nodes": n,
                    "search_s": round(search_s, 2),
                    "trace_mb": round(trace.stat().st_size / 1e6, 2),
                    "page_mb": round(html.stat().st_size / 1e6, 2),
                    "load_trace_s": round(load_s, 3),
                    "write_page_s": round(write_s, 3),
                    "page_ready_s": round(ready_s, 3),
                    "jump_to_deepest_s": round(jump_s, 3),
                    "rows_rendered": rows,
                }
                results.append(row)
                print(
                    f"{n:>6} nodes: trace {row['trace_mb']} MB -> page {row['page_mb']} MB; "
                    f"load {row['load_trace_s']} s + write {row['write_page_s']} s; "
                    f"Chromium ready {row['page_ready_s']} s, jump to deepest {row['jump_to_deepest_s']} s, "
                    f"{rows} rows rendered"
                )
            await browser.close()
    first, last = results[0], results[-1]
    scale = last["nodes"] / first["nodes"]
    print(
        f"{scale:.0f}x the nodes: page ready {last['page_ready_s'] / max(first['page_ready_s'], 1e-9):.1f}x slower, "
        f"page {last['page_mb'] / max(first['page_mb'], 1e-9):.1f}x larger"
    )
    print(json.dumps({"benchmark": "viewer_scale", "results": results}))


if __name__ == "__main__":
    asyncio.run(main())
