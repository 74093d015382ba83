"""A controller's knobs (the keyword arguments a command line sets with `--set KNOB=VALUE`): their
names, types and defaults, read from the constructors, and a check of given values against them
that answers in the user's terms instead of Python's."""

from __future__ import annotations

import collections.abc
import functools
import inspect
import operator
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from treeagent.search.controller import Controller

#: set by their own options or by the wiring, not by --set
_WIRED = {
    *("self", "args", "kwargs", "policy", "evaluator", "reflector"),
    *("budget", "concurrency", "seed", "trace", "resume", "strict"),
}


class KnobError(ValueError):
    """A knob the controller does not take, or a value of the wrong type; the message lists the knobs."""


@dataclass(frozen=True, slots=True)
class Knob:
    name: str
    annotation: Any
    default: Any

    @property
    def type_text(self) -> str:
        annotation = self.annotation
        if typing.get_origin(annotation) is typing.Literal:
            return " | ".join(repr(v) for v in typing.get_args(annotation))
        text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
        return text.replace("typing.", "").replace("NoneType", "None")

    def __str__(self) -> str:
        default = round(self.default, 4) if isinstance(self.default, float) else self.default
        return f"{self.name}: {self.type_text} = {default!r}"


def controller_knobs(cls: type[Controller]) -> dict[str, Knob]:
    """Every knob of `cls`, its own first, then those all controllers share (max_depth, strict, ...)."""
    knobs: dict[str, Knob] = {}
    for owner in (cls, Controller):
        hints = typing.get_type_hints(owner.__init__)
        for name, param in inspect.signature(owner.__init__).parameters.items():
            if name in _WIRED or name in knobs or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            default = param.default if param.default is not param.empty else None
            annotation = _settable(hints.get(name, Any))
            if name == "max_depth":
                default, annotation = cls.default_max_depth, int
            knobs[name] = Knob(name, annotation, default)
    return knobs


def _settable(annotation: Any) -> Any:
    """What a command line can give for a knob: a function (MCTS' `selection`) is for Python
    callers, so a union with one keeps its other members (`"uct" | "puct"`)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    kept = [a for a in typing.get_args(annotation) if typing.get_origin(a) is not collections.abc.Callable]
    if not kept or len(kept) == len(typing.get_args(annotation)):
        return annotation
    return functools.reduce(operator.or_, kept)


def describe_knobs(cls: type[Controller]) -> str:
    return ", ".join(str(k) for k in controller_knobs(cls).values())


def check_knobs(cls: type[Controller], values: dict[str, Any]) -> dict[str, Any]:
    """`values` converted to the knobs' types; `KnobError` names the first unknown knob or bad value."""
    knobs = controller_knobs(cls)
    out: dict[str, Any] = {}
    for name, value in values.items():
        knob = knobs.get(name)
        if knob is None:
            raise KnobError(f"{cls.name} has no knob {name!r}; its knobs: {describe_knobs(cls)}")
        try:
            out[name] = TypeAdapter(knob.annotation).validate_python(value)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise KnobError(f"{cls.name} knob {name}={value!r}: {problem} (expected {knob})") from None
    return out
