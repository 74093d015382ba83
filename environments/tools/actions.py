"""The actions of a tool-using agent: call a tool, answer the user, or give up on the branch.

Actions are pydantic models (they cross into traces and resumed searches). A model may write a
call as JSON (`{"tool": "ls", "arguments": {...}}`) or as Python (`ls(a=True)`, BFCL's notation);
`parse_call` reads the Python form without evaluating anything.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GIVE_UP_TOOL = "give_up_and_restart"
ANSWER_TOOL = "final_answer"


class ToolAction(BaseModel):
    """kind "call": run tool `name` with `arguments`; "answer": reply `text` to the user (ends the
    turn); "give_up": abandon this branch (DFSDT's give_up_and_restart)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["call", "answer", "give_up"] = "call"
    name: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    text: str = ""

    @classmethod
    def call(cls, name: str, /, **arguments: Any) -> ToolAction:
        return cls(kind="call", name=name, arguments=arguments)

    @classmethod
    def answer(cls, text: str) -> ToolAction:
        return cls(kind="answer", text=text)

    @classmethod
    def give_up(cls) -> ToolAction:
        return cls(kind="give_up")

    def text_form(self) -> str:
        """`name(a='x', b=2)` for calls (BFCL's notation), `answer: ...`, or the give-up marker."""
        if self.kind == "answer":
            return f"answer: {self.text}"
        if self.kind == "give_up":
            return GIVE_UP_TOOL
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({args})"


class CallSyntaxError(ValueError):
    """Text that is not a single tool call; the message says what was expected."""


def parse_call(text: str, positional: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """(name, arguments) of a Python-style call such as `mv(source='a', destination='b')`.

    Arguments must be literals (strings, numbers, lists, dicts, True/False/None); positional
    arguments are named by `positional`, the tool's parameter order.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CallSyntaxError(f"not a call: {text.strip()[:80]!r} ({exc.msg})") from None
    node = tree.body
    if not isinstance(node, ast.Call):
        raise CallSyntaxError(f"not a call: {text.strip()[:80]!r}; write name(arg=value, ...)")
    name = _dotted(node.func)
    if name is None:
        raise CallSyntaxError(f"the called thing in {text.strip()[:80]!r} is not a tool name")
    arguments: dict[str, Any] = {}
    try:
        if len(node.args) > len(positional):
            raise CallSyntaxError(f"{name} takes at most {len(positional)} positional arguments")
        for pname, arg in zip(positional, node.args, strict=False):
            arguments[pname] = ast.literal_eval(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise CallSyntaxError("**kwargs is not allowed in a tool call")
            arguments[kw.arg] = ast.literal_eval(kw.value)
    except ValueError as exc:
        raise CallSyntaxError(f"arguments of {name} must be literal values: {exc}") from None
    return name.rsplit(".", 1)[-1], arguments


def action_from_data(data: Any) -> ToolAction:
    """A `ToolAction` from its JSON form or from the shapes models write ({"tool"|"name", "arguments"})."""
    if isinstance(data, ToolAction):
        return data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            name, args = parse_call(data)
            return ToolAction.call(name, **args)
    if not isinstance(data, dict):
        raise CallSyntaxError(f"an action must be a JSON object, got {type(data).__name__}")
    if "kind" in data:
        return ToolAction.model_validate(data)
    raw_name: Any = data.get("tool", data.get("name", data.get("function")))
    if not isinstance(raw_name, str) or not raw_name:
        raise CallSyntaxError('an action needs a tool name: {"tool": NAME, "arguments": {...}}')
    name = raw_name
    arguments: Any = data.get("arguments", data.get("parameters", data.get("args", {})))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise CallSyntaxError(f"the arguments of {name} are not JSON: {arguments[:80]!r}") from None
    if not isinstance(arguments, dict):
        raise CallSyntaxError(f"the arguments of {name} must be a JSON object")
    if name == GIVE_UP_TOOL:
        return ToolAction.give_up()
    if name == ANSWER_TOOL:
        return ToolAction.answer(str(arguments.get("answer", arguments.get("text", ""))))
    return ToolAction(kind="call", name=name, arguments=arguments)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None
