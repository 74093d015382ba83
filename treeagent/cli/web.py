"""`treeagent web list|run`: the MiniWoB++ tasks wired here, and one web search with live progress."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from treeagent.cli.common import UserError, console, llm_errors, parse_budget, unknown_names, user_errors
from treeagent.registry import CONTROLLERS
from treeagent.search import TraceError

web_app = typer.Typer(
    help="Web agents: MiniWoB++ tasks and your own pages, searched in headless Chromium.", rich_markup_mode=None
)


def _web_errors() -> tuple[type[BaseException], ...]:
    from treeagent.environments.web import BrowserUnavailable, WebTaskError

    return (WebTaskError, BrowserUnavailable, TraceError, *unknown_names(), *llm_errors())


@web_app.command("list")
def list_tasks(
    as_json: Annotated[bool, typer.Option("--json", help="print the list as JSON")] = False,
) -> None:
    """The MiniWoB++ task types wired to the web environment."""
    from treeagent.environments.web import MINIWOB_TASKS

    if as_json:
        typer.echo(
            json.dumps([{"name": t.name, "max_steps": t.max_steps, "summary": t.summary} for t in MINIWOB_TASKS])
        )
        return
    table = Table(title=f"{len(MINIWOB_TASKS)} MiniWoB++ tasks (treeagent web run NAME)")
    table.add_column("task")
    table.add_column("steps", justify="right")
    table.add_column("what it asks")
    for t in MINIWOB_TASKS:
        table.add_row(t.name, str(t.max_steps), t.summary)
    console.print(table)


@web_app.command("run")
@user_errors(*_web_errors())
def run(
    task: Annotated[str, typer.Argument(help="a MiniWoB++ task (click-button, see `web list`) or a start URL")],
    controller: Annotated[str, typer.Option("--controller", "-c", help=CONTROLLERS.describe())] = "best-first",
    seed: Annotated[int, typer.Option(help="the MiniWoB episode's seed (fixes its problem)")] = 0,
    goal: Annotated[str | None, typer.Option(help="the goal, for a start URL")] = None,
    success_text: Annotated[
        str | None, typer.Option(help="a URL task succeeds when the page shows this text (else the model judges)")
    ] = None,
    branching: Annotated[int, typer.Option(min=1, max=16, help="actions sampled per expansion")] = 3,
    max_depth: Annotated[int, typer.Option(min=1, max=50, help="actions per trajectory at most")] = 6,
    samples: Annotated[int, typer.Option(min=1, max=16, help="verdicts averaged by the value function")] = 3,
    budget: Annotated[
        list[str] | None,
        typer.Option("--budget", "-b", help="NAME=VALUE: expansions (default 12), llm_calls, seconds"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="expansions under way at once")] = 2,
    max_live: Annotated[int, typer.Option(min=1, help="live pages kept (each ~65 MiB)")] = 8,
    free_text: Annotated[
        bool, typer.Option(help="let the model write any action as text (default: pick from the listed ones)")
    ] = False,
    search_seed: Annotated[int, typer.Option(help="search seed")] = 0,
    trace: Annotated[Path | None, typer.Option(help="write the trace here (treeagent show TRACE)")] = None,
    resume: Annotated[bool, typer.Option(help="resume the search recorded in --trace")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint; default: the configured one or the embedded model")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="also print the summary as one JSON line")] = False,
) -> None:
    """Search one web task; print the best trajectory, whether it succeeded, and what it cost."""
    from pydantic import ValidationError

    from treeagent.environments.web import miniwob_task, url_task
    from treeagent.web.agents import WebSearchConfig

    if resume and trace is None:
        raise UserError("--resume needs --trace FILE: the trace of the search to resume")
    name = CONTROLLERS.canonical(controller)
    limits = parse_budget(budget)
    unknown = set(limits) - {"max_expansions", "max_llm_calls", "max_seconds"}
    if unknown:
        raise UserError(f"web run budgets are expansions, llm_calls and seconds; not {', '.join(sorted(unknown))}")
    if "://" in task:
        if not goal:
            raise UserError("a start URL needs --goal: what should the agent achieve on the page?")
        the_task = url_task(task, goal, success_text=success_text, max_steps=max_depth)
    else:
        the_task = miniwob_task(task, seed)
    try:
        config = WebSearchConfig(
            controller=name,
            branching=branching,
            max_depth=max_depth,
            samples=samples,
            concurrency=concurrency,
            seed=search_seed,
            **{"max_expansions": 12, **limits},
        )
    except ValidationError as exc:
        raise UserError(f"bad search settings: {exc.errors()[0]['msg']}") from None
    result, stats = asyncio.run(_search(the_task, config, max_live, not free_text, trace, resume, base_url))
    from treeagent.cli.run import _report

    _report(result)
    console.print(
        f"pages: {stats['pool_hits']} pool hits, {stats['replays']} restores by replay "
        f"({stats['replayed_actions']} actions replayed, {stats['fresh_starts']} from the start page), "
        f"{stats['evictions']} evicted, {stats['browser_crashes']} browser crashes",
        highlight=False,
    )
    if as_json:
        typer.echo(json.dumps({**result.summary(), "env": stats}))


async def _search(
    task: Any, config: Any, max_live: int, listed: bool, trace: Path | None, resume: bool, base_url: str | None
) -> tuple[Any, dict[str, Any]]:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.agents.llm.vllm_server import serve_or_connect
    from treeagent.agents.web import TrajectoryJudge, stop_judge
    from treeagent.cli.run import _with_progress
    from treeagent.environments.web import WebEnv
    from treeagent.web.agents import make_controller

    env = WebEnv(max_live=max_live, listed_actions=listed)
    try:
        async with serve_or_connect(base_url) as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
            env.judge = stop_judge(TrajectoryJudge(llm, samples=config.samples), env)
            controller = make_controller(llm, config, trace=trace, resume=resume)
            result = await _with_progress(controller, env, task)
            return result, env.stats()
    finally:
        await env.close()
