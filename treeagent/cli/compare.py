"""`treeagent compare --env ENV --controllers a,b,c --budget NAME=V1,V2`: several controllers on
the same tasks with the same model and budgets; one table and a PNG of success against budget."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from treeagent.cli.common import (
    UserError,
    cell_progress,
    console,
    llm_errors,
    model_endpoints,
    on_ray,
    unknown_names,
    user_errors,
)
from treeagent.cli.run import parse_knobs
from treeagent.compare import (
    BUDGET_NAMES,
    CompareConfig,
    CompareError,
    CompareReport,
    SummaryRow,
    check_config,
    coding_source,
    parse_budget_levels,
    run_compare,
)
from treeagent.ray_backend import ScaleOutError
from treeagent.registry import needs_model
from treeagent.runner import ResultsFileError


@user_errors(CompareError, ResultsFileError, ScaleOutError, *unknown_names(), *llm_errors())
def compare(
    env: Annotated[
        str,
        typer.Option(help="game24, openspiel:GAME, module:Class, or a coding set: humaneval, code:FILE.jsonl"),
    ],
    controllers: Annotated[str, typer.Option(help="comma-separated: search controllers, or coding solvers")],
    budget: Annotated[
        list[str],
        typer.Option(
            "--budget", "-b", help="NAME=V1[,V2,...] per task: expansions, llm_calls, tokens, env_steps, seconds"
        ),
    ],
    tasks: Annotated[
        str | None,
        typer.Option(help="tasks separated by ';' (or @FILE, one per line); coding: problem ids"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="coding sets: the first K problems")] = None,
    policy: Annotated[str, typer.Option(help="uniform (no model) or llm")] = "uniform",
    evaluator: Annotated[str, typer.Option(help="auto, rollout, reward or llm")] = "auto",
    knob: Annotated[
        list[str] | None,
        typer.Option("--set", help="KNOB=VALUE for the controllers that take it, or CONTROLLER.KNOB=VALUE"),
    ] = None,
    seed: Annotated[int, typer.Option(help="search seed")] = 0,
    concurrency: Annotated[
        int, typer.Option(min=1, help="expansions (model requests) under way at once per search")
    ] = 1,
    jobs: Annotated[int, typer.Option(min=1, help="searches at once (without --ray)")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="per-search results (JSONL); finished cells are skipped on re-run")
    ] = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="the PNG of success against budget")] = None,
    ray: Annotated[
        str | None, typer.Option("--ray", help="spread the searches over Ray: HOST:PORT, or 'local' to start one")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint(s), comma-separated; default: the configured one")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="end with the summary as one JSON object")] = False,
) -> None:
    """Compare controllers on the same tasks, model and budget: success, LLM calls, tokens, time."""
    config = CompareConfig(
        env=env,
        controllers=_names(controllers),
        budgets=parse_budget_levels(budget),
        tasks=_tasks(env, tasks, limit),
        policy=policy,
        evaluator=evaluator,
        knobs=parse_knobs(knob),
        seed=seed,
        concurrency=concurrency,
    )
    config = check_config(config)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", env)
    results = out or Path("runs") / f"compare-{slug}.jsonl"
    png: Path | None = plot_path or results.with_suffix(".png")
    if not can_plot():
        console.print(NO_PLOT)
        png = None
    needs_llm = config.coding or needs_model(config.policy, config.evaluator)
    with on_ray(ray):
        report = asyncio.run(
            _compare(config, results, ray is not None, jobs, base_url if needs_llm else None, needs_llm)
        )
    if png is not None:
        plot(config, report.summary, png)
    _report(report, png)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "env": env,
                    "results": report.results,
                    "plot": str(png) if png is not None else None,
                    "resumed": report.resumed,
                    "summary": [r.model_dump() for r in report.summary],
                }
            )
        )


NO_PLOT = (
    "note: matplotlib is not installed, so the table is printed and no plot is drawn "
    "(pip install 'treeagent[integrations]' for the plot)"
)


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError("--controllers needs at least one name, e.g. --controllers best_first,mcts")
    return names


def _tasks(env: str, text: str | None, limit: int | None) -> list[str]:
    from treeagent.compare import is_coding_env

    if text and text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise UserError(f"--tasks @{path}: no such file")
        items = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        items = [t.strip() for t in (text or "").split(";")]
    items = [t for t in items if t]
    if is_coding_env(env):
        from treeagent.environments.code import load_problems

        problems = load_problems(coding_source(env), limit if not items else None, items or None)
        return [p.id for p in problems]
    if not items:
        raise UserError(f"{env} needs --tasks, e.g. --tasks '4 9 10 13;5 5 8 13' for game24")
    return items[:limit] if limit else items


async def _compare(
    config: CompareConfig, results: Path, use_ray: bool, jobs: int, base_url: str | None, needs_llm: bool
) -> CompareReport:
    async with contextlib.AsyncExitStack() as stack:
        worker_llm = await stack.enter_async_context(model_endpoints(base_url)) if needs_llm else None
        total = len(config.controllers) * len(config.budgets) * len(config.tasks)
        label = f"[bold]compare[/] {config.env}" + (" on Ray" if use_ray else "")
        with cell_progress(label, total, lambda row: bool(row["solved"]), "solved", transient=True) as draw:
            return await run_compare(
                config, out=results, use_ray=use_ray, jobs=jobs, worker_llm=worker_llm, on_event=draw
            )


def _report(report: CompareReport, png: Path | None) -> None:
    table = Table(
        title=f"{report.config.env}: {len(report.config.tasks)} tasks, the same budget per controller", box=box.SIMPLE
    )
    for column in ("controller", "budget", "success", "LLM calls", "tokens", "expanded", "wall s"):
        left = column in ("controller", "budget")
        table.add_column(column, justify="left" if left else "right", no_wrap=left or column == "success")
    for row in report.summary:
        table.add_row(
            row.controller,
            row.label,
            f"{row.success:.3f} ({row.solved}/{row.tasks})",
            str(row.llm_calls),
            str(row.tokens),
            str(row.expansions),
            f"{row.wall_s:.2f}",
        )
    console.print(table)
    drawn = png if png is not None else "none (matplotlib is not installed)"
    console.print(f"results: {report.results} ({report.resumed} searches taken from it)   plot: {drawn}")


def varying_budget(config: CompareConfig) -> str | None:
    """The Budget field whose value changes across levels (the plot's x axis)."""
    if len(config.budgets) < 2:
        return None
    for field in config.budgets[0]:
        if len({str(b.get(field)) for b in config.budgets}) > 1:
            return field
    return None


def can_plot() -> bool:
    """Whether matplotlib (the `integrations` extra) is there to draw the plot."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def plot(config: CompareConfig, summary: Sequence[SummaryRow], path: str | os.PathLike[str]) -> Path:
    """Success rate against budget, one line per controller, as a PNG (no display needed)."""
    from matplotlib.figure import Figure

    field = varying_budget(config) or next(iter(config.budgets[0]))
    short = {v: k for k, v in BUDGET_NAMES.items()}[field]
    figure = Figure(figsize=(6.4, 4.2), dpi=100)
    axes = figure.add_subplot()
    for name in config.controllers:
        mine = sorted((r for r in summary if r.controller == name), key=lambda r: r.level)
        axes.plot([r.budget[field] for r in mine], [r.success for r in mine], marker="o", label=name)
    axes.set_xlabel(f"budget ({short} per task)")
    axes.set_ylabel("success rate")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title(f"{config.env}: {len(config.tasks)} tasks, same budget per controller")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png")
    return out
