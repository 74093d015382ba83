"""Turning model replies into actions, scores and lessons, tolerantly.

Structured output (a JSON schema sent with the request) makes most replies valid, but not all
servers support it and small models wander anyway: JSON may come wrapped in a code fence, after
a sentence, or not at all. These parsers try the strict reading first, then looser ones, and
report *why* they failed instead of raising, so a bad reply becomes a failed child.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\s*\n?(.*?)```", re.DOTALL)
_PREFIX = re.compile(r"^\s*(?:next\s+)?(?:action|answer|move|step|output)\s*(?:\d+\s*)?[:：-]\s*", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def code_blocks(text: str) -> list[str]:
    """The contents of the ``` fenced blocks in `text`, in order."""
    return [block.strip() for block in _FENCE.findall(text)]


def strip_fences(text: str) -> str:
    """The first fenced block's content, or the text itself when it has none."""
    blocks = code_blocks(text)
    return blocks[0] if blocks else text.strip()


def extract_json(text: str) -> Any | None:
    """The first JSON value found: the whole text, a fenced block, or the first {...} / [...] in it."""
    candidates = [text.strip(), *code_blocks(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        return value
    return None


def _single_text_field(schema: type[BaseModel]) -> str | None:
    """The name of the schema's only required field when it is a string (fallback target)."""
    required = [name for name, f in schema.model_fields.items() if f.is_required()]
    if len(required) != 1:
        return None
    annotation = schema.model_fields[required[0]].annotation
    return required[0] if annotation is str else None


def parse_structured(text: str, schema: type[M]) -> tuple[M | None, str | None]:
    """Validate `text` against `schema`: strict JSON, then embedded JSON, then free text for a
    schema with a single required string field. Returns (value, None) or (None, reason)."""
    try:
        return schema.model_validate_json(text), None
    except ValidationError as exc:
        strict_error = exc
    data = extract_json(text)
    if isinstance(data, dict):
        try:
            return schema.model_validate(data), None
        except ValidationError as exc:
            return None, f"reply does not match {schema.__name__}: {_short(exc)}"
    field = _single_text_field(schema)
    if field is not None:
        free = parse_free_text(text)
        if free:
            try:
                return schema.model_validate({field: free}), None
            except ValidationError as exc:
                return None, f"reply does not match {schema.__name__}: {_short(exc)}"
    if not text.strip():
        return None, "empty reply"
    return None, f"reply is not valid {schema.__name__} JSON: {_short(strict_error)}"


def parse_free_text(text: str) -> str | None:
    """The action in a free-text reply: a fenced block, else the first non-empty line with any
    'Action:'-style prefix removed. None for an empty reply."""
    blocks = code_blocks(text)
    if blocks and blocks[0]:
        return blocks[0]
    for line in text.strip().splitlines():
        line = _PREFIX.sub("", line).strip().strip("`").strip()
        if line:
            return line
    return None


def parse_score(text: str, low: float, high: float, key: str = "score") -> float | None:
    """A score in [low, high]: the JSON field `key`, else the first number in range in the text."""
    data = extract_json(text)
    if isinstance(data, dict) and isinstance(data.get(key), int | float) and not isinstance(data.get(key), bool):
        value = float(data[key])
        return value if low <= value <= high else None
    if isinstance(data, int | float) and not isinstance(data, bool) and low <= data <= high:
        return float(data)
    for match in _NUMBER.finditer(text):
        value = float(match.group())
        if low <= value <= high:
            return value
    return None


def first_sentences(text: str, limit_chars: int, sentences: int = 2) -> str:
    """At most `sentences` sentences of `text`, cut at `limit_chars` (lessons stay short in prompts)."""
    flat = " ".join(text.split())
    parts = re.split(r"(?<=[.!?])\s+", flat)
    out = " ".join(parts[:sentences]).strip()
    return out if len(out) <= limit_chars else out[: limit_chars - 3].rstrip() + "..."


def _short(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)[:200]
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "value"
    return f"{where}: {first.get('msg', '')}"[:200]
