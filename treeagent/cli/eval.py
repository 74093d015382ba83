"""`treeagent eval humaneval|PATH.jsonl|miniwob|bfcl`: a solver or controller on many tasks,
per-task JSONL results (resumable, on the experiment runner), a progress bar drawn from the
runner's events, and a summary: pass@1 on the hidden tests, MiniWoB success, or BFCL's verdict."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
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
from treeagent.cli.solve import SOLVER_HELP
from treeagent.coding.solvers import SolverError
from treeagent.environments.code import ProblemError
from treeagent.ray_backend import ScaleOutError
from treeagent.registry import CONTROLLERS, DEFAULT_SOLVER, SOLVERS
from treeagent.runner import ResultsFileError


@user_errors(ProblemError, SolverError, ResultsFileError, ScaleOutError, *unknown_names(), *llm_errors())
def eval_(
    source: Annotated[str, typer.Argument(help="humaneval, a JSONL file in HumanEval's format, miniwob or bfcl")],
    solver: Annotated[str, typer.Option("--solver", "-s", help=SOLVER_HELP)] = DEFAULT_SOLVER,
    budget_calls: Annotated[int, typer.Option(min=1, help="LLM calls allowed per problem")] = 16,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first K problems")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="problems solved at once")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="per-problem results (JSONL); finished problems are skipped on re-run")
    ] = None,
    width: Annotated[int | None, typer.Option(min=1, help="children per expansion (solver default if unset)")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="model requests under way at once per problem")] = 4,
    seed: Annotated[int, typer.Option(help="search seed")] = 0,
    early_stop: Annotated[bool, typer.Option(help="stop once a candidate passes every public test")] = True,
    traces: Annotated[Path | None, typer.Option(help="write one search trace per problem into this folder")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint; default: the configured one or the embedded model")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="end with the summary as one JSON object")] = False,
    tasks: Annotated[
        list[str] | None, typer.Option("--tasks", help="miniwob: task types, comma-separated (default: all wired)")
    ] = None,
    controller: Annotated[
        str, typer.Option(help="miniwob, bfcl: a controller (instead of --solver): " + ", ".join(CONTROLLERS))
    ] = "best-first",
    episodes: Annotated[int, typer.Option(min=1, help="miniwob: seeds per task (seed, seed+1, ...)")] = 1,
    category: Annotated[str, typer.Option(help="bfcl: the BFCL category")] = "multi_turn_base",
    ray: Annotated[
        str | None, typer.Option("--ray", help="spread the problems over Ray: HOST:PORT, or 'local' to start one")
    ] = None,
) -> None:
    """Run a solver on a problem set; print pass@1 on the hidden tests and what it cost.

    `treeagent eval miniwob --tasks click-button,enter-text --controller best-first` runs a web
    controller on MiniWoB++ episodes instead and prints the success rate; `treeagent eval bfcl`
    a tool-calling controller on BFCL's multi-turn tasks."""
    if source == "miniwob":
        names = [n.strip() for item in (tasks or []) for n in item.split(",") if n.strip()]
        web = (width, concurrency, limit, out, traces, base_url)
        summary: dict[str, Any] = _miniwob(names, controller, episodes, seed, budget_calls, *web)
    elif source == "bfcl":
        summary = _bfcl(category, controller, budget_calls, limit, jobs, out, seed, width, traces, base_url)
    else:
        coding = (out, width, concurrency, seed, early_stop, traces, base_url, ray)
        summary = _coding(source, solver, budget_calls, limit, jobs, *coding)
    if as_json:
        typer.echo(json.dumps(summary))


def _print(*rows: tuple[str, str]) -> None:
    table = Table(show_header=False, box=None)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem if source.endswith((".jsonl", ".gz")) else source)


def _coding(source: str, solver: str, budget_calls: int, limit: int | None, jobs: int, *rest: Any) -> dict[str, Any]:
    from treeagent.environments.code import load_problems

    out, width, concurrency, seed, early_stop, traces, base_url, ray = rest
    solver = SOLVERS.canonical(solver)
    problems = load_problems(source, limit)
    results = out or Path("runs") / f"eval-{_slug(source)}-{solver}-{budget_calls}.jsonl"
    options = {"width": width, "concurrency": concurrency, "seed": seed, "early_stop": early_stop, "traces": traces}
    with on_ray(ray):
        summary = asyncio.run(
            _run_coding(problems, source, solver, budget_calls, results, jobs, base_url, ray, options)
        )
    _print(
        ("problems", f"{summary.problems} ({summary.resumed} taken from the results file)"),
        ("pass@1 (hidden tests)", f"[bold]{summary.pass1:.3f}[/] ({summary.passed}/{summary.problems})"),
        ("passed public tests", f"{summary.solved_public}/{summary.problems}"),
        ("LLM calls", str(summary.llm_calls)),
        ("tokens", str(summary.tokens)),
        ("wall time (sum over problems)", f"{summary.wall_s:.1f} s"),
        ("results", str(summary.results)),
    )
    keys = ("problems", "pass1", "llm_calls", "tokens", "wall_s", "solver", "budget_calls", "passed")
    return {k: getattr(summary, k) for k in (*keys, "solved_public", "resumed", "results")}


async def _run_coding(
    problems: list[Any],
    source: str,
    solver: str,
    budget_calls: int,
    results: Path,
    jobs: int,
    base_url: str | None,
    ray: str | None,
    options: dict[str, Any],
) -> Any:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.coding.evaluation import run_eval
    from treeagent.sandbox import ProcessSandbox

    label = f"[bold]{solver}[/] x{budget_calls} calls" + (" on Ray" if ray else "")
    async with contextlib.AsyncExitStack() as stack:
        settings = await stack.enter_async_context(model_endpoints(base_url))
        llm = sandbox = None
        if ray is None:  # the problems share one client and one sandbox here; a Ray worker opens its own
            llm = await stack.enter_async_context(LLMClient(LLMConfig.load(**settings)))
            sandbox = await stack.enter_async_context(ProcessSandbox(workers=2))
        with cell_progress(label, len(problems), lambda row: bool(row["passed"]), "pass@1 so far") as draw:
            return await run_eval(
                problems,
                llm=llm,
                sandbox=sandbox,
                solver=solver,
                budget_calls=budget_calls,
                out=results,
                jobs=jobs,
                source=source,
                use_ray=ray is not None,
                worker_llm=settings,
                on_event=draw,
                **options,
            )


def _miniwob(
    names: list[str], controller: str, episodes: int, seed: int, budget_calls: int, *rest: Any
) -> dict[str, Any]:
    from pydantic import ValidationError

    from treeagent.environments.web import MINIWOB_TASKS, WebTaskError, miniwob_task
    from treeagent.web.agents import WebSearchConfig

    width, concurrency, limit, out, traces, base_url = rest
    names = (names or [t.name for t in MINIWOB_TASKS])[:limit]
    name = CONTROLLERS.canonical(controller)
    try:
        for task in names:
            miniwob_task(task)
        config = WebSearchConfig(
            controller=name,
            branching=width or 3,
            max_llm_calls=budget_calls,
            max_expansions=None,
            concurrency=min(concurrency, 2),
        )
    except (WebTaskError, ValidationError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise UserError(message) from None
    seeds = [seed + i for i in range(episodes)]
    results = out or Path("runs") / f"eval-miniwob-{name}-{budget_calls}.jsonl"
    summary = asyncio.run(_run_miniwob(names, seeds, config, results, traces, base_url))
    _print(
        ("episodes", f"{summary.episodes} ({summary.resumed} taken from the results file)"),
        ("success rate", f"[bold]{summary.success_rate:.3f}[/] ({summary.solved}/{summary.episodes})"),
        ("by task", ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in summary.by_task.items())),
        ("LLM calls", str(summary.llm_calls)),
        ("wall time", f"{summary.wall_s:.1f} s"),
        ("results", str(results)),
    )
    return summary.as_dict()


async def _run_miniwob(
    names: list[str], seeds: list[int], config: Any, results: Path, traces: Path | None, base_url: str | None
) -> Any:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.web.evaluation import run_miniwob_eval

    total = len(names) * len(seeds)
    async with model_endpoints(base_url) as settings, LLMClient(LLMConfig.load(**settings)) as llm:
        with cell_progress(f"[bold]{config.controller}[/] on MiniWoB", total, _solved, "solved") as draw:
            return await run_miniwob_eval(
                names, seeds, llm=llm, config=config, out=results, traces=traces, on_event=draw
            )


def _solved(row: dict[str, Any]) -> bool:
    return bool(row.get("solved"))


def _bfcl(category: str, controller: str, budget_calls: int, limit: int | None, *rest: Any) -> dict[str, Any]:
    from treeagent.environments.tools.bfcl import BFCLUnavailable, load_tasks
    from treeagent.tools.suite import canonical_controller

    jobs, out, seed, width, traces, base_url = rest
    name = canonical_controller(controller)
    try:
        tasks = load_tasks(category, limit)
    except BFCLUnavailable as exc:
        raise UserError(str(exc)) from None
    results = out or Path("runs") / f"eval-bfcl-{category}-{name}-{budget_calls}.jsonl"
    summary = asyncio.run(_run_bfcl(tasks, category, name, budget_calls, results, jobs, seed, width, traces, base_url))
    _print(
        ("tasks", f"{summary.tasks} ({summary.resumed} taken from the results file)"),
        ("success (BFCL checker)", f"[bold]{summary.success_rate:.3f}[/] ({summary.successes}/{summary.tasks})"),
        ("answered every turn", f"{summary.finished}/{summary.tasks}"),
        ("LLM calls", str(summary.llm_calls)),
        ("tokens", str(summary.tokens)),
        ("wall time (sum over tasks)", f"{summary.wall_s:.1f} s"),
        ("results", str(summary.results)),
    )
    return summary.model_dump()


async def _run_bfcl(tasks: list[Any], category: str, name: str, budget_calls: int, results: Path, *rest: Any) -> Any:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.tools.suite import run_bfcl

    jobs, seed, width, traces, base_url = rest
    async with model_endpoints(base_url) as settings, LLMClient(LLMConfig.load(**settings)) as llm:
        label = f"[bold]{name}[/] x{budget_calls} calls"
        with cell_progress(label, len(tasks), lambda row: bool(row["success"]), "success so far") as draw:
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
                on_event=draw,
            )
