"""`treeagent solve FILE_OR_ID`: one programming problem with a tree-search solver, with live
progress, then the solution, the verdicts and the search summary."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID
from rich.syntax import Syntax
from rich.table import Table

from treeagent.cli.common import console, llm_errors, search_progress, unknown_names, user_errors
from treeagent.cli.progress import SearchProgress
from treeagent.coding.solvers import SolverError
from treeagent.environments.code import ProblemError
from treeagent.registry import DEFAULT_SOLVER, SOLVERS
from treeagent.search import Node, TraceError
from treeagent.search.trace import check_trace_path

SOLVER_HELP = SOLVERS.describe()


@user_errors(ProblemError, SolverError, TraceError, *unknown_names(), *llm_errors())
def solve(
    problem: Annotated[
        str, typer.Argument(help="a HumanEval id (HumanEval/0 or 0), a JSONL file with one problem, or FILE#TASK_ID")
    ],
    solver: Annotated[str, typer.Option("--solver", "-s", help=SOLVER_HELP)] = DEFAULT_SOLVER,
    budget_calls: Annotated[int, typer.Option(min=1, help="LLM calls allowed (one sampled completion each)")] = 16,
    width: Annotated[int | None, typer.Option(min=1, help="children per expansion (solver default if unset)")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="model requests under way at once")] = 4,
    seed: Annotated[int, typer.Option(help="search seed")] = 0,
    early_stop: Annotated[bool, typer.Option(help="stop once a candidate passes every public test")] = True,
    trace: Annotated[Path | None, typer.Option(help="write the search trace here (treeagent show)")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint; default: the configured one or the embedded model")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="also print the summary as one JSON line")] = False,
) -> None:
    """Solve one programming problem; print the solution, its public and hidden verdicts and the search."""
    from treeagent.environments.code import resolve_problem

    solver = SOLVERS.canonical(solver)
    if trace is not None:
        check_trace_path(trace)  # before any model is started: never append to a problem file
    the_problem = resolve_problem(problem)
    solution = asyncio.run(
        _solve(the_problem, solver, budget_calls, width, concurrency, seed, early_stop, trace, base_url)
    )
    _report(solution)
    if as_json:
        typer.echo(json.dumps(solution.summary()))


async def _solve(problem: Any, solver: str, budget_calls: int, *args: Any) -> Any:
    from treeagent.coding.solve import asolve_code

    width, concurrency, seed, early_stop, trace, base_url = args
    progress = search_progress(f"[bold]{solver}[/] on {problem.id}")
    with progress:
        bar = progress.add_task("solve", total=budget_calls, info="starting")
        return await asolve_code(
            problem,
            solver=solver,
            budget_calls=budget_calls,
            width=width,
            concurrency=concurrency,
            seed=seed,
            early_stop=early_stop,
            trace=trace,
            base_url=base_url,
            listener=_SolveProgress(progress, bar, len(problem.public_tests)),
        )


class _SolveProgress(SearchProgress):
    """LLM calls against the budget, the programs written, the most public tests one passes."""

    def __init__(self, progress: Progress, bar: TaskID, tests: int) -> None:
        super().__init__(progress, bar, "llm_calls")
        self.tests = tests
        self.best = 0

    def saw(self, node: Node) -> None:
        if node.step is not None:
            self.best = max(self.best, node.step.state.passed)

    def info(self) -> str:
        s = self.stats
        return f"{s.llm_calls} LLM calls · {self.nodes - 1} nodes · best {self.best}/{self.tests} public tests"


def _report(solution: Any) -> None:
    if solution.solution is not None:
        console.print(Syntax(solution.solution, "python", theme="ansi_dark", line_numbers=False))
    else:
        console.print("[red]no program was written[/]")
    summary = solution.summary()
    table = Table(show_header=False, box=None)
    if summary["public_total"]:
        colour = "green" if summary["public_passed"] == summary["public_total"] else "red"
        public = f"[{colour}]{summary['public_passed']}/{summary['public_total']}[/] ({summary['public_source']})"
    else:
        public = "none (the problem has no public tests)"
    table.add_row("public tests", public)
    hidden = solution.hidden
    if hidden is None:
        table.add_row("hidden tests", "none given")
    else:
        verdict = "[green]PASS[/]" if hidden.passed else "[red]FAIL[/]"
        table.add_row("hidden tests", f"{verdict} {hidden.passed_tests}/{hidden.total}")
    table.add_row("stopped by", summary["stop_reason"])
    table.add_row(
        "spent",
        f"{summary['llm_calls']} LLM calls, {summary['tokens']} tokens, {summary['wall_s']:.1f} s; "
        f"{summary['programs']} programs in {summary['nodes']} nodes",
    )
    if solution.result.trace_path is not None:
        table.add_row("trace", f"{solution.result.trace_path}  (treeagent show {solution.result.trace_path})")
    console.print(table)
