"""The `treeagent eval miniwob` branch: options in, progress bar, summary table (and JSON) out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from treeagent.cli.common import UserError, console


def eval_miniwob(
    *,
    tasks: list[str] | None,
    controller: str,
    episodes: int,
    seed: int,
    budget_calls: int,
    width: int | None,
    concurrency: int,
    limit: int | None,
    out: Path | None,
    traces: Path | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Run a web controller on MiniWoB++ episodes; print the success rate."""
    from pydantic import ValidationError

    from treeagent.environments.web import MINIWOB_TASKS, WebTaskError, miniwob_task
    from treeagent.web.agents import WebSearchConfig, normalise_controller

    names = [n.strip() for item in (tasks or []) for n in item.split(",") if n.strip()]
    names = names or [t.name for t in MINIWOB_TASKS]
    if limit is not None:
        names = names[:limit]
    try:
        for name in names:
            miniwob_task(name)
        name = normalise_controller(controller)
        config = WebSearchConfig(
            controller=name,
            branching=width or 3,
            max_llm_calls=budget_calls,
            max_expansions=None,
            concurrency=min(concurrency, 2),
        )
    except (WebTaskError, ValueError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise UserError(message) from None
    seeds = [seed + i for i in range(episodes)]
    results = out or Path("runs") / f"eval-miniwob-{name}-{budget_calls}.jsonl"
    summary = asyncio.run(_run(names, seeds, config, results, traces, base_url))
    table = Table(show_header=False, box=None)
    table.add_row("episodes", f"{summary.episodes} ({summary.resumed} taken from the results file)")
    table.add_row("success rate", f"[bold]{summary.success_rate:.3f}[/] ({summary.solved}/{summary.episodes})")
    table.add_row("by task", ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in summary.by_task.items()))
    table.add_row("LLM calls", str(summary.llm_calls))
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    table.add_row("results", str(results))
    console.print(table)
    if as_json:
        typer.echo(json.dumps(summary.as_dict()))


async def _run(
    names: list[str], seeds: list[int], config: Any, results: Path, traces: Path | None, base_url: str | None
) -> Any:
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.agents.vllm_server import serve_or_connect
    from treeagent.web.evaluation import run_miniwob_eval

    progress = Progress(
        TextColumn(f"[bold]{config.controller}[/] on MiniWoB"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("solved {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )
    solved = [0, 0]

    def on_result(row: dict[str, Any]) -> None:
        solved[0] += bool(row.get("solved"))
        solved[1] += 1
        progress.update(bar, advance=1, rate=f"{solved[0]}/{solved[1]}")

    async with serve_or_connect(base_url) as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
        with progress:
            bar = progress.add_task("eval", total=len(names) * len(seeds), rate="-")
            return await run_miniwob_eval(
                names, seeds, llm=llm, config=config, out=results, traces=traces, on_result=on_result
            )
