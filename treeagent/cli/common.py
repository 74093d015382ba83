"""What every command shares: one way to report a user's mistake without a traceback."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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
    from treeagent.agents.llm_client import LLMError
    from treeagent.agents.llm_config import LLMConfigError
    from treeagent.agents.vllm_server import ServerStartError

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
    from pydantic import ValidationError

    from treeagent.search import Budget

    names = {
        "expansions": "max_expansions",
        "llm_calls": "max_llm_calls",
        "tokens": "max_tokens",
        "env_steps": "max_env_steps",
        "seconds": "max_seconds",
    }
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
        Budget(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise UserError(f"bad budget: {problems}") from None
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
