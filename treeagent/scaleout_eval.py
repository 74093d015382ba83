"""The coding eval spread over Ray (`treeagent eval humaneval --ray local|HOST:PORT`).

One Ray task per problem: the worker loads the problem by id, connects to the shared list of model
endpoints, starts a small sandbox of its own and runs the solver, exactly as the local eval does
for one problem. Rows come back to the driver, which appends them to the same resumable JSONL
file and folds them into the same summary as `treeagent.coding.evaluation.run_eval`; problems
already in the file are skipped, and a worker killed mid-problem has its problem re-run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from treeagent.coding.evaluation import EvalSummary, _config, summarise
from treeagent.environments.code import CodeProblem
from treeagent.results import append_result, read_results
from treeagent.scaleout import run_tasks


async def solve_problem(spec: dict[str, Any]) -> dict[str, Any]:
    """One eval row for one problem (runs in a Ray worker): the local eval's row, field for field."""
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.coding.solve import asolve_code
    from treeagent.compare_cells import sandbox_uid_base
    from treeagent.environments.code import load_problems
    from treeagent.sandbox import ProcessSandbox

    started = time.perf_counter()
    problem = load_problems(spec["source"], ids=[spec["id"]])[0]
    traces = spec.get("traces")
    trace = Path(traces) / f"{problem.id.replace('/', '_')}.trace.jsonl" if traces else None
    async with (
        LLMClient(LLMConfig.load(**spec["llm"])) as llm,
        ProcessSandbox(workers=1, uid_base=sandbox_uid_base()) as sandbox,
    ):
        solution = await asolve_code(
            problem,
            solver=spec["solver"],
            budget_calls=spec["budget_calls"],
            width=spec.get("width"),
            concurrency=spec["concurrency"],
            seed=spec["seed"],
            early_stop=spec["early_stop"],
            trace=trace,
            llm=llm,
            sandbox=sandbox,
        )
    row = {**solution.summary(), "config": spec["config"], "program": solution.solution}
    row["wall_s"] = round(time.perf_counter() - started, 3)
    return row


def problem_specs(
    problems: Sequence[CodeProblem],
    source: str,
    llm: dict[str, Any],
    *,
    solver: str,
    budget_calls: int,
    seed: int = 0,
    early_stop: bool = True,
    width: int | None = None,
    concurrency: int = 4,
    traces: str | None = None,
) -> list[dict[str, Any]]:
    """The task specs of `solve_problem`, one per problem (JSON: sent to the workers)."""
    where = str(Path(source).resolve()) if Path(source).is_file() else source
    config = _config(solver, budget_calls, seed, early_stop)
    shared = {
        "source": where,
        "solver": solver,
        "budget_calls": budget_calls,
        "seed": seed,
        "early_stop": early_stop,
        "width": width,
        "concurrency": concurrency,
        "traces": str(Path(traces).resolve()) if traces else None,
        "llm": llm,
        "config": config,
    }
    return [{**shared, "id": p.id} for p in problems]


async def run_eval_on_ray(
    problems: Sequence[CodeProblem],
    source: str,
    llm: dict[str, Any],
    *,
    solver: str,
    budget_calls: int,
    out: Path | None,
    seed: int = 0,
    early_stop: bool = True,
    width: int | None = None,
    concurrency: int = 4,
    traces: str | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> EvalSummary:
    """`run_eval`'s results file and summary, with the problems solved by Ray workers (call it
    inside `scaleout.ray_cluster`). `llm`: the client settings the workers use (no API key)."""
    config = _config(solver, budget_calls, seed, early_stop)
    done = read_results(out, config) if out is not None else {}
    ids = {p.id for p in problems}
    resumed = [row for pid, row in done.items() if pid in ids]
    todo = [p for p in problems if p.id not in done]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    specs = problem_specs(
        todo,
        source,
        llm,
        solver=solver,
        budget_calls=budget_calls,
        seed=seed,
        early_stop=early_stop,
        width=width,
        concurrency=concurrency,
        traces=traces,
    )

    async def landed(index: int, row: Any) -> None:
        if out is not None:
            await append_result(out, row)
        if on_result is not None:
            on_result(row)

    fresh = await run_tasks(solve_problem, specs, use_ray=True, on_result=landed)
    order = {p.id: i for i, p in enumerate(problems)}
    rows = sorted([*resumed, *fresh], key=lambda r: order.get(r["id"], len(order)))
    summary = summarise(rows, solver, budget_calls)
    summary.resumed = len(resumed)
    summary.results = str(out) if out is not None else None
    return summary


def eval_on_ray(
    address: str,
    problems: Sequence[CodeProblem],
    source: str,
    *,
    solver: str,
    budget_calls: int,
    out: Path,
    base_url: str | None = None,
    **options: Any,
) -> EvalSummary:
    """The `treeagent eval --ray` command's work: connect (or start a local Ray), find the model
    endpoints, run, and report a Ray problem as a user error."""
    from treeagent.cli.common import UserError, console
    from treeagent.scaleout import ScaleOutError, ray_cluster

    try:
        with contextlib.ExitStack() as stack:
            with console.status(f"Ray: {'starting a local instance' if address == 'local' else 'connecting'}"):
                stack.enter_context(ray_cluster(address))
            return asyncio.run(_eval(problems, source, solver, budget_calls, out, base_url, options))
    except ScaleOutError as exc:
        raise UserError(str(exc)) from None


async def _eval(
    problems: Sequence[CodeProblem],
    source: str,
    solver: str,
    budget_calls: int,
    out: Path,
    base_url: str | None,
    options: dict[str, Any],
) -> EvalSummary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from treeagent.agents.llm_config import LLMConfig
    from treeagent.agents.vllm_server import serve_or_connect
    from treeagent.cli.common import console

    configured = LLMConfig.load(base_urls=base_url)  # every endpoint listed, for the workers to share
    async with serve_or_connect(base_url) as server:
        urls = configured.base_urls or [server.base_url]
        llm = configured.model_copy(update={"base_urls": urls}).model_dump(exclude={"api_key"})
        progress = Progress(
            TextColumn(f"[bold]{solver}[/] x{budget_calls} calls on Ray"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("passed {task.fields[passed]}"),
            TimeElapsedColumn(),
            console=console,
        )
        passed = [0]

        def landed(row: dict[str, Any]) -> None:
            passed[0] += bool(row["passed"])
            progress.update(bar, advance=1, passed=passed[0])

        config = _config(solver, budget_calls, options.get("seed", 0), options.get("early_stop", True))
        already = len({p.id for p in problems} & set(read_results(out, config)))
        with progress:
            bar = progress.add_task("eval", total=len(problems), completed=already, passed=0)
            return await run_eval_on_ray(
                problems, source, llm, solver=solver, budget_calls=budget_calls, out=out, on_result=landed, **options
            )
