"""Tools: a spec, a validator and a way to run. Plain functions, methods of stateful backends.

A stateless tool is a function of its arguments. A backend tool is a method of a named backend
object (a file system, a bank account) that lives in the search state; the environment copies
that backend before running the method, so sibling branches never see each other's effects.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from treeagent.environments.tools.schema import (
    ToolSpec,
    args_model,
    normalize_schema,
    spec_from_callable,
    validate_args,
)

#: runs a tool: (the branch's backends, the validated arguments) -> result (or an awaitable of it)
Runner = Callable[[Mapping[str, Any], dict[str, Any]], Any]


class ToolError(Exception):
    """A tool's own failure (bad input it detected, a remote error); the model reads the message."""


@dataclass(frozen=True, slots=True)
class Tool:
    """One callable tool.

    backend: the name of the backend it changes (copied before each call), None when stateless.
    coerce: run with the validated arguments (converted to the declared types); False runs with
        the arguments as the model gave them once they validate (BFCL's backends expect that).
    timeout: seconds a call may take before it is reported as timed out (None: the env's default).
    positional: the parameter order, for calls written positionally (`sort('a.txt')`).
    """

    spec: ToolSpec
    model: type[BaseModel]
    run: Runner
    backend: str | None = None
    coerce: bool = True
    timeout: float | None = None
    is_async: bool = False
    positional: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(self, arguments: Any) -> dict[str, Any]:
        """The arguments to run with; `ArgumentsError` when they do not match the schema."""
        checked = validate_args(self.model, arguments)
        return checked if self.coerce else dict(arguments)


def function_tool(fn: Callable[..., Any], name: str | None = None, timeout: float | None = None) -> Tool:
    """A stateless tool from a typed Python function (sync or async)."""
    spec, model = spec_from_callable(fn, name)

    def run(_backends: Mapping[str, Any], args: dict[str, Any]) -> Any:
        return fn(**args)

    return Tool(spec, model, run, timeout=timeout, is_async=inspect.iscoroutinefunction(fn), positional=_params(fn))


def backend_tools(
    backend: str,
    obj: Any,
    *,
    specs: Sequence[Mapping[str, Any]] | None = None,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    coerce: bool = True,
    timeout: float | None = None,
) -> list[Tool]:
    """The public methods of `obj` (an instance of the backend named `backend`) as tools.

    Without `specs`, each method's type hints and docstring make its schema; with `specs` (JSON
    documents {name, description, parameters}, e.g. BFCL's), exactly the documented methods
    become tools with those schemas.
    """
    skip = set(exclude)
    wanted = set(include) if include is not None else None
    tools: list[Tool] = []
    if specs is not None:
        for doc in specs:
            name = str(doc["name"])
            method = getattr(obj, name, None)
            if not callable(method) or name in skip or (wanted is not None and name not in wanted):
                continue
            parameters = normalize_schema(dict(doc.get("parameters") or {"type": "object"}))
            parameters["type"] = "object"
            spec = ToolSpec(name=name, description=str(doc.get("description", "")), parameters=parameters)
            tools.append(_method_tool(backend, name, spec, args_model(name, parameters), method, coerce, timeout))
        return tools
    for name, method in inspect.getmembers(obj, predicate=inspect.ismethod):
        if name.startswith("_") or name in skip or (wanted is not None and name not in wanted):
            continue
        spec, model = spec_from_callable(method, name)
        tools.append(_method_tool(backend, name, spec, model, method, coerce, timeout))
    return tools


def _method_tool(
    backend: str,
    name: str,
    spec: ToolSpec,
    model: type[BaseModel],
    method: Callable[..., Any],
    coerce: bool,
    timeout: float | None,
) -> Tool:
    def run(backends: Mapping[str, Any], args: dict[str, Any]) -> Any:
        return getattr(backends[backend], name)(**args)

    return Tool(
        spec,
        model,
        run,
        backend=backend,
        coerce=coerce,
        timeout=timeout,
        is_async=inspect.iscoroutinefunction(method),
        positional=_params(method),
    )


def _params(fn: Callable[..., Any]) -> tuple[str, ...]:
    try:
        return tuple(
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
    except (TypeError, ValueError):
        return ()


@dataclass(frozen=True)
class Toolbox:
    """The tools of one task, by name (shared by every state of the search; never changed)."""

    tools: Mapping[str, Tool] = field(default_factory=dict)

    @classmethod
    def of(cls, tools: Iterable[Tool | Callable[..., Any]]) -> Toolbox:
        by_name: dict[str, Tool] = {}
        for item in tools:
            tool = item if isinstance(item, Tool) else function_tool(item)
            if tool.name in by_name:
                raise ValueError(f"two tools are named {tool.name!r}; give one another name")
            by_name[tool.name] = tool
        return cls(by_name)

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self.tools.values()]

    def names(self) -> list[str]:
        return list(self.tools)


def format_output(result: Any) -> str:
    """A tool's result as text, the way BFCL's executor renders it (str as is, dict as JSON)."""
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        try:
            return json.dumps(result)
        except (TypeError, ValueError):
            return str(result)
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    return str(result)


async def maybe_await(value: Any) -> Any:
    return await value if isinstance(value, Awaitable) else value
