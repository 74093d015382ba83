"""`treeagent run ENV`: one search on one task, with a progress bar and a summary."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from treeagent.agents.base import SearchStop
from treeagent.cli.common import (
    UserError,
    console,
    err_console,
    fail,
    llm_errors,
    parse_budget,
    search_progress,
    unknown_names,
    user_errors,
)
from treeagent.cli.progress import SearchProgress
from treeagent.registry import (
    CONTROLLERS,
    ENVIRONMENT_HELP,
    EVALUATORS,
    POLICIES,
    EnvSpecError,
    auto_evaluator,
    controller_knob_values,
    controller_max_depth,
    make,
    needs_model,
    search_agents,
    search_controller,
)
from treeagent.search import Budget, Controller, SearchResult, TraceError
from treeagent.search.faults import error_text
from treeagent.search.knobs import KnobError
from treeagent.search.state_check import StateMutationWarning
from treeagent.search.trace import check_trace_path


def parse_knobs(items: list[str] | None) -> dict[str, Any]:
    knobs: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad --set {item!r}: write KNOB=VALUE, e.g. --set branching=5")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        knobs[key.strip().replace("-", "_")] = value
    return knobs


KNOBS_HELP = "Controller knobs (--set KNOB=VALUE), with their types and defaults:\n\n" + "\n\n".join(
    f"{r.name}: {r.knobs}" for r in CONTROLLERS.values()
)


@user_errors(*unknown_names(), TraceError, ValueError, *llm_errors())
def run(
    env: Annotated[str, typer.Argument(help=ENVIRONMENT_HELP)],
    task: Annotated[str | None, typer.Option(help="the task, in the environment's short form")] = None,
    task_json: Annotated[str | None, typer.Option(help="the task as JSON: {id, prompt, data}")] = None,
    controller: Annotated[str, typer.Option("--controller", "-c", help=CONTROLLERS.describe())] = "best_first",
    policy: Annotated[str, typer.Option(help=POLICIES.describe())] = "uniform",
    evaluator: Annotated[str, typer.Option(help=EVALUATORS.describe())] = "auto",
    budget: Annotated[
        list[str] | None,
        typer.Option("--budget", "-b", help="NAME=VALUE: expansions, llm_calls, tokens, env_steps, seconds"),
    ] = None,
    knob: Annotated[
        list[str] | None, typer.Option("--set", help="controller knob KNOB=VALUE, e.g. branching=5, max_depth=3")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="expansions and evaluations under way at once")] = 1,
    seed: Annotated[int, typer.Option(help="search seed")] = 0,
    trace: Annotated[
        Path | None, typer.Option(help="write the trace here (JSONL); view it with `treeagent show`")
    ] = None,
    resume: Annotated[bool, typer.Option(help="resume the search recorded in --trace")] = False,
    strict: Annotated[
        bool, typer.Option(help="raise the first node error with its traceback (debug an environment or policy)")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint(s), comma-separated; default: start the embedded model"),
    ] = None,
) -> None:
    """Search one task with a controller, a policy and an evaluator; print the best trajectory."""
    controller, policy = CONTROLLERS.canonical(controller), POLICIES.canonical(policy)
    evaluator = EVALUATORS.canonical(evaluator)
    budget_fields = parse_budget(budget)
    if resume and trace is None:
        raise UserError("--resume needs --trace FILE (the trace of the run to resume)")
    if trace is not None:
        check_trace_path(trace)  # before any model is started
    try:
        knobs = controller_knob_values(controller, parse_knobs(knob))
    except KnobError as exc:
        raise UserError(f"bad --set: {exc}") from None
    environment, the_task = make(env, task, task_json)
    if evaluator == "auto":
        evaluator, why = auto_evaluator(environment, needs_model(policy, evaluator))
        console.print(f"evaluator: {evaluator} (auto: {why})", highlight=False, soft_wrap=True)
    search = _search(
        environment,
        the_task,
        controller,
        policy,
        evaluator,
        Budget(**budget_fields),
        knobs,
        concurrency,
        seed,
        trace,
        resume,
        base_url,
        strict,
    )
    try:
        with warnings.catch_warnings():  # the summary says it, in words, not a stack of warnings
            warnings.simplefilter("ignore", StateMutationWarning)
            result = asyncio.run(search)
    except Exception as exc:
        if not strict or isinstance(exc, (UserError, SearchStop, EnvSpecError, TraceError, *llm_errors())):
            raise
        err_console.print_exception(max_frames=6)
        fail(f"--strict: a node failed: {error_text(exc)}", code=1)
    _report(result)
    if result.failure is not None:
        raise typer.Exit(1)


async def _search(
    env: Any,
    task: Any,
    controller_name: str,
    policy_name: str,
    evaluator_name: str,
    budget: Budget,
    knobs: dict[str, Any],
    concurrency: int,
    seed: int,
    trace: Path | None,
    resume: bool,
    base_url: str | None,
    strict: bool = False,
) -> SearchResult:
    async with contextlib.AsyncExitStack() as stack:
        llm = None
        if needs_model(policy_name, evaluator_name):
            from treeagent.agents.llm.client import LLMClient
            from treeagent.agents.llm.config import LLMConfig
            from treeagent.agents.llm.vllm_server import serve_or_connect

            server = await stack.enter_async_context(serve_or_connect(base_url))
            llm = await stack.enter_async_context(LLMClient(LLMConfig.load(base_urls=server.base_url)))
        depth = controller_max_depth(controller_name, knobs)
        policy, evaluator = search_agents(policy_name, evaluator_name, llm, env=env, max_depth=depth)
        controller: Controller = search_controller(
            controller_name,
            policy_name,
            policy,
            evaluator,
            budget=budget,
            concurrency=concurrency,
            seed=seed,
            trace=trace,
            resume=resume,
            strict=strict,
            **knobs,
        )
        try:
            return await _with_progress(controller, env, task)
        finally:
            await env.close()


async def _with_progress(controller: Controller, env: Any, task: Any) -> SearchResult:
    limit = controller.budget.max_expansions
    progress = search_progress(f"[bold]{controller.name}[/] on {task.id}")
    with progress:
        bar = progress.add_task("search", total=limit, info="")
        return await controller.run(env, task, listener=SearchProgress(progress, bar, "expansions"))


def _report(result: SearchResult) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("solved", "[green]yes[/]" if result.solved else "[red]no[/]")
    table.add_row("stopped by", result.stop_reason)
    table.add_row("best path", " → ".join(result.best_texts) or "(root)")
    table.add_row("best value", f"{result.best_value:.3f}")
    s = result.stats
    table.add_row(
        "spent",
        f"{s.expansions} expansions ({s.replayed_expansions} replayed), {s.env_steps} env steps, "
        f"{s.llm_calls} LLM calls, {s.tokens} tokens, {s.wall_seconds:.2f} s",
    )
    table.add_row("tree", f"{len(result.tree)} nodes, {s.failed_nodes} failed")
    if result.failure is not None:
        table.add_row("[red]why[/]", f"every node failed the same way: {result.failure}")
    if result.trace_path is not None:
        table.add_row("trace", f"{result.trace_path}  (treeagent show {result.trace_path})")
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
