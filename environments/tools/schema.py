"""Tool schemas: what a tool is called, what it does, and which arguments it takes.

A `ToolSpec` holds a JSON schema for the arguments (what the model and the server see) and a
pydantic model built from it (what validates a call before anything runs). Specs come from Python
callables (type hints and the docstring's `Args:` section, through pydantic) or from a JSON
schema (OpenAPI operations, BFCL's function documents, whose "dict"/"float"/"tuple" types are
normalised to JSON Schema here).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

_TYPE_ALIASES = {"dict": "object", "float": "number", "tuple": "array", "int": "integer", "bool": "boolean"}
_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_SECTION = re.compile(r"^\s*(Returns?|Raises|Yields|Examples?|Notes?|Response)\s*:", re.IGNORECASE)
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class SchemaError(ValueError):
    """A tool's schema or signature cannot be turned into a validator; the message names the tool."""


class ArgumentsError(ValueError):
    """A tool call's arguments do not match the tool's schema; the message lists what is wrong."""


class ToolSpec(BaseModel):
    """A tool as the model sees it: name, description and a JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai(self) -> dict[str, Any]:
        """The OpenAI `tools` entry for this tool."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def signature(self, describe: int = 0) -> str:
        """`name(a: string, b?: integer)`, with the description cut to `describe` characters if > 0."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        args = ", ".join(f"{k}{'' if k in required else '?'}: {_type_name(v)}" for k, v in props.items())
        line = f"{self.name}({args})"
        if describe > 0 and self.description:
            text = " ".join(self.description.split())
            line += " - " + (text if len(text) <= describe else text[: describe - 3] + "...")
        return line


def normalize_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema for `schema`: BFCL's type names mapped, objects given `properties`."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = _TYPE_ALIASES.get(value, value)
        elif key == "type" and isinstance(value, list):
            out[key] = [_TYPE_ALIASES.get(v, v) for v in value]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: normalize_schema(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = normalize_schema(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [normalize_schema(v) if isinstance(v, dict) else v for v in value]
        elif key == "response":
            continue  # BFCL documents the return value; the arguments schema has no use for it
        else:
            out[key] = value
    if out.get("type") == "object":
        out.setdefault("properties", {})
    return out


def args_model(name: str, parameters: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model validating the arguments described by the JSON schema `parameters`."""
    props = parameters.get("properties") or {}
    if not isinstance(props, dict):
        raise SchemaError(f"tool {name!r}: 'properties' must be an object, got {type(props).__name__}")
    required = set(parameters.get("required") or [])
    fields: dict[str, Any] = {}
    for key, prop in props.items():
        annotation = _annotation(prop if isinstance(prop, dict) else {})
        if key in required:
            fields[key] = (annotation, ...)
        else:
            fields[key] = (annotation | None, prop.get("default") if isinstance(prop, dict) else None)
    try:
        return create_model(_model_name(name), __config__=ConfigDict(extra="forbid"), **fields)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"tool {name!r}: cannot build a validator from its schema: {exc}") from exc


def spec_from_callable(fn: Callable[..., Any], name: str | None = None) -> tuple[ToolSpec, type[BaseModel]]:
    """The spec and validator of a Python callable, from its type hints and docstring.

    Every parameter needs a type hint; the docstring's first paragraph becomes the description
    and its `Args:` entries the parameters' descriptions.
    """
    tool_name = name or getattr(fn, "__name__", None) or type(fn).__name__
    try:
        signature = inspect.signature(fn)
        hints = get_type_hints(fn)
    except (TypeError, ValueError, NameError) as exc:
        raise SchemaError(f"tool {tool_name!r}: cannot read its signature: {exc}") from exc
    summary, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for pname, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if pname not in hints:
            raise SchemaError(f"tool {tool_name!r}: parameter {pname!r} has no type hint; add one")
        default = ... if param.default is param.empty else param.default
        fields[pname] = (hints[pname], Field(default, description=arg_docs.get(pname)))
    try:
        model = create_model(_model_name(tool_name), __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"tool {tool_name!r}: its type hints have no JSON schema: {exc}") from exc
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("properties", {})
    return ToolSpec(name=tool_name, description=summary, parameters=schema), model


def validate_args(model: type[BaseModel], arguments: Any) -> dict[str, Any]:
    """The validated arguments (only those given, coerced to the declared types), or `ArgumentsError`."""
    if not isinstance(arguments, dict):
        raise ArgumentsError(f"arguments must be a JSON object, got {type(arguments).__name__}")
    try:
        value = model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ArgumentsError(problems) from None
    return {k: getattr(value, k) for k in value.model_fields_set}


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {argument: description}) from a Google-style docstring."""
    lines = doc.strip().splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip() or _ARGS_HEADER.match(line) or _SECTION.match(line):
            break
        summary_lines.append(line.strip())
    args: dict[str, str] = {}
    current: str | None = None
    arg_indent: int | None = None
    in_args = False
    for line in lines:
        if _ARGS_HEADER.match(line):
            in_args, current = True, None
            continue
        if in_args and _SECTION.match(line):
            break
        if not in_args or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        arg_indent = indent if arg_indent is None else arg_indent
        match = _ARG_LINE.match(line)
        if match and indent <= arg_indent:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = (args[current] + " " + line.strip()).strip()
    return " ".join(summary_lines), args


def _annotation(prop: dict[str, Any]) -> Any:
    if prop.get("enum"):
        return Literal[tuple(prop["enum"])]
    kind = prop.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind == "string":
        return str
    if kind == "integer":
        return int
    if kind == "number":
        return float
    if kind == "boolean":
        return bool
    if kind == "array":
        items = prop.get("items")
        return list[_annotation(items)] if isinstance(items, dict) and items else list[Any]  # type: ignore[misc]
    if kind == "object":
        return dict[str, Any]
    return Any


def _type_name(prop: Any) -> str:
    if not isinstance(prop, dict):
        return "any"
    if prop.get("enum"):
        return "|".join(repr(v) for v in prop["enum"][:6])
    kind = prop.get("type", "any")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"array[{_type_name(prop['items'])}]"
    return str(kind)


def _model_name(name: str) -> str:
    return "Args_" + re.sub(r"\W", "_", name)
