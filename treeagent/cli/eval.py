"""`treeagent eval humaneval|PATH.jsonl`: a solver on many problems, per-problem JSONL results
(resumable), and a summary of pass@1 on the hidden tests, tokens, LLM calls and wall time."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from treeagent.cli.common import console, llm_errors, user_errors
from treeagent.cli.solve import SOLVER_HELP
from treeagent.coding.evaluation import EvalSummary
from treeagent.coding.solvers import DEFAULT_SOLVER, SOLVERS, SolverError
from treeagent.environments.code import ProblemError
from treeagent.results import ResultsFileError


@user_errors(ProblemError, SolverError, ResultsFileError, *llm_errors())
def eval_(
    source: Annotated[str, typer.Argument(help="humaneval, or a JSONL file in HumanEval's format")],
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
        str, typer.Option(help="miniwob: greedy, best-first, dfsdt, mcts or beam (instead of --solver)")
    ] = "best-first",
    episodes: Annotated[int, typer.Option(min=1, help="miniwob: seeds per task (seed, seed+1, ...)")] = 1,
    category: Annotated[str, typer.Option(help="bfcl: the BFCL category")] = "multi_turn_base",
    ray: Annotated[
        str | None, typer.Option("--ray", help="spread the problems over Ray: HOST:PORT, or 'local' to start one")
    ] = None,
) -> None:
    """Run a solver on a problem set; print pass@1 on the hidden tests and what it cost.

    `treeagent eval miniwob --tasks click-button,enter-text --controller best-first` runs a web
    controller on MiniWoB++ episodes instead and prints the success rate."""
    if source == "miniwob":
        from treeagent.web.cli_eval import eval_miniwob

        return eval_miniwob(
            tasks=tasks,
            controller=controller,
            episodes=episodes,
            seed=seed,
            budget_calls=budget_calls,
            width=width,
            concurrency=concurrency,
            limit=limit,
            out=out,
            traces=traces,
            base_url=base_url,
            as_json=as_json,
        )
    if source == "bfcl":
        from treeagent.tools.cli_eval import eval_bfcl

        return eval_bfcl(
            category=category,
            controller=controller,
            budget_calls=budget_calls,
            limit=limit,
            jobs=jobs,
            out=out,
            seed=seed,
            width=width,
            traces=traces,
            base_url=base_url,
            as_json=as_json,
        )
    from treeagent.environments.code import load_problems

    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r}; choose one of: {', '.join(SOLVERS)}")
    problems = load_problems(source, limit)
    results = out or Path("runs") / f"eval-{_slug(source)}-{solver}-{budget_calls}.jsonl"
    if ray is not None:
        from treeagent.scaleout_eval import eval_on_ray

        summary = eval_on_ray(
            ray,
            problems,
            source,
            solver=solver,
            budget_calls=budget_calls,
            out=results,
            base_url=base_url,
            width=width,
            concurrency=concurrency,
            seed=seed,
            early_stop=early_stop,
            traces=traces,
        )
    else:
        summary = asyncio.run(
            _eval(problems, solver, budget_calls, results, jobs, width, concurrency, seed, early_stop, traces, base_url)
        )
    _report(summary)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "problems": summary.problems,
                    "pass1": summary.pass1,
                    "llm_calls": summary.llm_calls,
                    "tokens": summary.tokens,
                    "wall_s": summary.wall_s,
                    "solver": summary.solver,
                    "budget_calls": summary.budget_calls,
                    "passed": summary.passed,
                    "solved_public": summary.solved_public,
                    "resumed": summary.resumed,
                    "results": summary.results,
                }
            )
        )


def _slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem if source.endswith((".jsonl", ".gz")) else source)


async def _eval(
    problems: list[Any], solver: str, budget_calls: int, results: Path, jobs: int, *rest: Any
) -> EvalSummary:
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.agents.vllm_server import serve_or_connect
    from treeagent.coding.evaluation import run_eval
    from treeagent.results import read_results
    from treeagent.sandbox import ProcessSandbox

    width, concurrency, seed, early_stop, traces, base_url = rest
    config = {"solver": solver, "budget_calls": budget_calls, "seed": seed, "early_stop": early_stop}
    already = len({p.id for p in problems} & set(read_results(results, config)))
    progress = Progress(
        TextColumn(f"[bold]{solver}[/] x{budget_calls} calls"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pass@1 so far {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
    )
    passed = [0, 0]

    def on_result(row: dict[str, Any]) -> None:
        passed[0] += bool(row["passed"])
        passed[1] += 1
        progress.update(bar, advance=1, rate=f"{passed[0]}/{passed[1]}")

    async with (
        serve_or_connect(base_url) as server,
        LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm,
        ProcessSandbox(workers=2) as sandbox,
    ):
        with progress:
            bar = progress.add_task("eval", total=len(problems), completed=already, rate="-")
            return await run_eval(
                problems,
                llm=llm,
                sandbox=sandbox,
                solver=solver,
                budget_calls=budget_calls,
                out=results,
                jobs=jobs,
                seed=seed,
                early_stop=early_stop,
                width=width,
                concurrency=concurrency,
                traces=traces,
                on_result=on_result,
            )


def _report(summary: EvalSummary) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("problems", f"{summary.problems} ({summary.resumed} taken from the results file)")
    table.add_row("pass@1 (hidden tests)", f"[bold]{summary.pass1:.3f}[/] ({summary.passed}/{summary.problems})")
    table.add_row("passed public tests", f"{summary.solved_public}/{summary.problems}")
    table.add_row("LLM calls", str(summary.llm_calls))
    table.add_row("tokens", str(summary.tokens))
    table.add_row("wall time (sum over problems)", f"{summary.wall_s:.1f} s")
    table.add_row("results", str(summary.results))
    console.print(table)
