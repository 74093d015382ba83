"""`treeagent eval bfcl --category multi_turn_base --controller dfsdt --budget-calls N`: a controller on
BFCL's multi-turn tasks, per-task JSONL results (resumable) and the success rate by BFCL's checker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from treeagent.cli.common import UserError, console
from treeagent.tools.suite import BFCLSummary, canonical_controller


def eval_bfcl(
    *,
    category: str,
    controller: str,
    budget_calls: int,
    limit: int | None,
    jobs: int,
    out: Path | None,
    seed: int,
    width: int | None,
    traces: Path | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Run `controller` on BFCL `category`; print the success rate and what it cost."""
    from treeagent.environments.tools.bfcl import BFCLUnavailable, load_tasks
    from treeagent.tools.suite import ControllerError

    try:
        name = canonical_controller(controller)
        tasks = load_tasks(category, limit)
    except (BFCLUnavailable, ControllerError) as exc:
        raise UserError(str(exc)) from None
    results = out or Path("runs") / f"eval-bfcl-{category}-{name}-{budget_calls}.jsonl"
    summary = asyncio.run(_eval(tasks, category, name, budget_calls, results, jobs, seed, width, traces, base_url))
    _report(summary)
    if as_json:
        typer.echo(json.dumps(summary.model_dump()))


async def _eval(
    tasks: list[Any], category: str, name: str, budget_calls: int, results: Path, *rest: Any
) -> BFCLSummary:
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.agents.vllm_server import serve_or_connect
    from treeagent.results import ResultsFileError
    from treeagent.tools.suite import run_bfcl

    jobs, seed, width, traces, base_url = rest
    progress = Progress(
        TextColumn(f"[bold]{name}[/] x{budget_calls} calls"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("success so far {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )
    tally = [0, 0]

    def on_result(row: dict[str, Any]) -> None:
        tally[0] += bool(row["success"])
        tally[1] += 1
        progress.update(bar, advance=1, rate=f"{tally[0]}/{tally[1]}")

    async with serve_or_connect(base_url) as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
        with progress:
            bar = progress.add_task("eval", total=len(tasks), rate="-")
            try:
                return await run_bfcl(
                    tasks,
                    llm=llm,
                    controller=name,
                    budget_calls=budget_calls,
                    category=category,
                    out=results,
                    jobs=jobs,
                    seed=seed,
                    width=width,
                    traces=traces,
                    on_result=on_result,
                )
            except ResultsFileError as exc:
                raise UserError(str(exc)) from None


def _report(summary: BFCLSummary) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("tasks", f"{summary.tasks} ({summary.resumed} taken from the results file)")
    table.add_row(
        "success (BFCL checker)", f"[bold]{summary.success_rate:.3f}[/] ({summary.successes}/{summary.tasks})"
    )
    table.add_row("answered every turn", f"{summary.finished}/{summary.tasks}")
    table.add_row("LLM calls", str(summary.llm_calls))
    table.add_row("tokens", str(summary.tokens))
    table.add_row("wall time (sum over tasks)", f"{summary.wall_s:.1f} s")
    table.add_row("results", str(summary.results))
    console.print(table)
