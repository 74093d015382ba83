"""What every command shares: one way to report a user's mistake without a traceback, the model
endpoints a command's searches share, and the progress bar that draws the runner's events."""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from treeagent.runner import CellEvent

P = ParamSpec("P")
R = TypeVar("R")

#: the toolkit's own packages: an error raised there carries the toolkit's message, not a user's bug
_OWN_PACKAGES = ("treeagent", "treeagent.agents", "treeagent.environments", "treeagent.search", "treeagent.sandbox")
console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """A mistake in the user's input; the message says what is wrong and what to do."""


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def user_errors(*kinds: type[BaseException]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn the given exception types (and `UserError`) into a one-line error and exit code 2."""

    caught: tuple[type[BaseException], ...] = (UserError, *kinds)

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except caught as exc:
                fail(_message(exc))
            except KeyboardInterrupt:
                fail("interrupted", code=130)

        return inner

    return wrap


def llm_errors() -> tuple[type[BaseException], ...]:
    """The model-side errors a command reports in one line: a bad client configuration, an endpoint
    that refuses it or does not answer, an engine that cannot start."""
    from treeagent.agents.llm.client import LLMError
    from treeagent.agents.llm.config import LLMConfigError
    from treeagent.agents.llm.vllm_server import ServerStartError

    return (LLMError, LLMConfigError, ServerStartError)


def _message(exc: BaseException) -> str:
    """The error's text; raised in a user's own code (an environment's bug), with its type and place."""
    from treeagent.search.faults import raised_at

    if isinstance(exc, UserError):
        return str(exc)
    where = raised_at(exc)
    if not where:
        return str(exc)
    path = Path(where.rpartition(":")[0]).resolve()
    own = [Path(importlib.import_module(name).__file__ or "").resolve().parent for name in _OWN_PACKAGES]
    if any(path.is_relative_to(folder) for folder in own):
        return str(exc)
    return f"{type(exc).__name__}: {exc} ({where})"


def parse_budget(spec: list[str] | None) -> dict[str, Any]:
    """`--budget expansions=50 --budget seconds=30` -> Budget fields, with a clear error otherwise."""
    from treeagent.compare import BUDGET_NAMES as names
    from treeagent.compare import CompareError, check_budget

    fields: dict[str, Any] = {}
    for item in spec or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_").removeprefix("max_")
        if not sep or key not in names:
            raise UserError(f"bad budget {item!r}: write NAME=VALUE with NAME one of {', '.join(names)}")
        try:
            fields[names[key]] = float(value) if key == "seconds" else int(value)
        except ValueError:
            raise UserError(f"bad budget {item!r}: {value!r} is not a number") from None
    try:
        check_budget(fields)
    except CompareError as exc:
        raise UserError(str(exc)) from None
    return fields


def search_progress(label: str) -> Progress:
    """The live line of `run` and `solve`: spinner, label, bar, a free-text info field, elapsed time."""
    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def unknown_names() -> tuple[type[BaseException], ...]:
    """The registry's error for a name no table holds (one line: the names it does hold)."""
    from treeagent.registry import EnvSpecError, UnknownRecipe

    return (UnknownRecipe, EnvSpecError)


@contextlib.asynccontextmanager
async def model_endpoints(base_url: str | None) -> AsyncIterator[dict[str, Any]]:
    """The model client's settings (LLMConfig fields, no API key) that a run's searches share: every
    endpoint listed in `base_url` or the configuration, else the embedded model, started for the run."""
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.agents.llm.vllm_server import serve_or_connect

    configured = LLMConfig.load(base_urls=base_url)
    async with serve_or_connect(base_url) as server:
        urls = configured.base_urls or [server.base_url]
        yield configured.model_copy(update={"base_urls": urls}).model_dump(exclude={"api_key"})


@contextlib.contextmanager
def cell_progress(
    label: str, total: int, ok: Callable[[dict[str, Any]], bool], word: str, *, transient: bool = False
) -> Iterator[Callable[[CellEvent], None]]:
    """A bar over a run's cells, `word a/b` counting the rows `ok` holds; yields the runner's event hook."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(word + " {task.fields[tally]}"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )
    tally = [0, 0]

    def draw(event: CellEvent) -> None:
        if event.row is None:
            return
        tally[0] += bool(ok(event.row))
        tally[1] += 1
        progress.update(bar, completed=event.done, tally=f"{tally[0]}/{tally[1]}")

    with progress:
        bar = progress.add_task("cells", total=total, tally="-")
        yield draw


@contextlib.contextmanager
def on_ray(address: str | None) -> Iterator[None]:
    """Inside a Ray connection (`--ray HOST:PORT`, or `local` to start one) when an address is given."""
    if address is None:
        yield
        return
    from treeagent.ray_backend import ray_cluster

    with contextlib.ExitStack() as stack:
        with console.status(
            f"Ray: {'starting a local instance' if address == 'local' else 'connecting to ' + address}"
        ):
            stack.enter_context(ray_cluster(address))
        yield
