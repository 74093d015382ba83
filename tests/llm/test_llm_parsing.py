"""The tolerant parsers: strict JSON first, then embedded JSON, then free text; reasons on failure."""

from __future__ import annotations

from pydantic import BaseModel, Field

from treeagent.agents.parsing import (
    extract_json,
    first_sentences,
    parse_free_text,
    parse_score,
    parse_structured,
    strip_fences,
)


class Move(BaseModel):
    move: str = Field(max_length=30)


class Pair(BaseModel):
    a: int
    b: int = Field(ge=0)


def test_extract_json_finds_fenced_and_embedded_values() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Sure!\n```json\n{"a": 2}\n```') == {"a": 2}
    assert extract_json('The answer is {"a": 3, "b": [1, 2]} as asked.') == {"a": 3, "b": [1, 2]}
    assert extract_json("no json here") is None


def test_parse_structured_strict_then_embedded() -> None:
    value, error = parse_structured('{"a": 1, "b": 2}', Pair)
    assert error is None and value == Pair(a=1, b=2)
    value, error = parse_structured('Here: ```json\n{"a": 5, "b": 0}\n```', Pair)
    assert error is None and value == Pair(a=5, b=0)


def test_parse_structured_reports_the_invalid_field() -> None:
    value, error = parse_structured('{"a": 1, "b": -4}', Pair)
    assert value is None
    assert error is not None and "b" in error and "Pair" in error


def test_parse_structured_falls_back_to_free_text_for_single_string_schema() -> None:
    value, error = parse_structured("Action: 4 * 6 = 24\nbecause it works", Move)
    assert error is None and value is not None and value.move == "4 * 6 = 24"


def test_parse_structured_fails_cleanly_on_garbage() -> None:
    value, error = parse_structured("I cannot help with that", Pair)
    assert value is None and error is not None and "Pair" in error
    value, error = parse_structured("   ", Move)
    assert value is None and error == "empty reply"


def test_free_text_takes_fence_or_first_line_without_prefix() -> None:
    assert parse_free_text("```python\nprint(1)\n```") == "print(1)"
    assert parse_free_text("\n\nNext action: click(3)\nmore") == "click(3)"
    assert parse_free_text("Move 2: e2e4") == "e2e4"
    assert parse_free_text("  \n ") is None
    assert strip_fences("plain") == "plain"


def test_parse_score_bounds() -> None:
    assert parse_score('{"score": 7}', 0, 10) == 7.0
    assert parse_score('{"score": 70}', 0, 10) is None
    assert parse_score("I'd give it 8 out of 10", 0, 10) == 8.0
    assert parse_score("score: 42, then 3", 0, 10) == 3.0
    assert parse_score("no idea", 0, 10) is None
    assert parse_score('{"score": true}', 0, 10) is None


def test_first_sentences_cuts() -> None:
    text = "First lesson. Second one!  Third is dropped."
    assert first_sentences(text, 200) == "First lesson. Second one!"
    short = first_sentences("x" * 500, 50)
    assert len(short) == 50 and short.endswith("...")
