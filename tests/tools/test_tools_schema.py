"""Tool schemas from callables and JSON documents, argument validation, call parsing, reply schemas."""

from __future__ import annotations

from typing import Literal

import pytest

from treeagent.agents.tools.prompts import native_tools, reply_schema
from treeagent.environments.tools import (
    ArgumentsError,
    CallSyntaxError,
    SchemaError,
    ToolAction,
    function_tool,
    parse_call,
    spec_from_callable,
)
from treeagent.environments.tools.actions import action_from_data
from treeagent.environments.tools.schema import args_model, normalize_schema, validate_args


def book_flight(
    origin: str, destination: str, seats: int = 1, cabin: Literal["economy", "business"] = "economy"
) -> str:
    """Book a flight between two airports.

    Longer notes that are not part of the summary.

    Args:
        origin: IATA code of the departure airport.
        destination: IATA code of the arrival
            airport (continued on a second line).
        seats: how many seats.

    Returns:
        a confirmation code.
    """
    return f"{origin}-{destination}-{seats}-{cabin}"


def test_callable_schema_has_types_required_defaults_and_docs() -> None:
    spec, _ = spec_from_callable(book_flight)
    assert spec.name == "book_flight"
    assert spec.description == "Book a flight between two airports."
    params = spec.parameters
    assert params["required"] == ["origin", "destination"]
    props = params["properties"]
    assert props["origin"]["type"] == "string"
    assert props["seats"] == {"type": "integer", "default": 1, "description": "how many seats."}
    assert props["cabin"]["enum"] == ["economy", "business"]
    assert props["destination"]["description"] == "IATA code of the arrival airport (continued on a second line)."
    assert spec.openai()["function"]["parameters"] is params
    assert (
        spec.signature()
        == "book_flight(origin: string, destination: string, seats?: integer, cabin?: 'economy'|'business')"
    )


def test_validation_coerces_rejects_and_names_the_problem() -> None:
    tool = function_tool(book_flight)
    assert tool.validate({"origin": "SFO", "destination": "JFK", "seats": "2"}) == {
        "origin": "SFO",
        "destination": "JFK",
        "seats": 2,
    }
    with pytest.raises(ArgumentsError, match="destination: Field required"):
        tool.validate({"origin": "SFO"})
    with pytest.raises(ArgumentsError, match="seats"):
        tool.validate({"origin": "SFO", "destination": "JFK", "seats": "many"})
    with pytest.raises(ArgumentsError, match="cabin"):
        tool.validate({"origin": "SFO", "destination": "JFK", "cabin": "first"})
    with pytest.raises(ArgumentsError, match="pets: Extra inputs"):
        tool.validate({"origin": "SFO", "destination": "JFK", "pets": 1})
    with pytest.raises(ArgumentsError, match="JSON object"):
        tool.validate(["SFO"])


def test_untyped_parameter_is_a_schema_error() -> None:
    def shout(text):  # type: ignore[no-untyped-def]
        return text.upper()

    with pytest.raises(SchemaError, match="'text' has no type hint"):
        spec_from_callable(shout)


def test_bfcl_style_schema_is_normalised_and_validated() -> None:
    doc = {
        "type": "dict",
        "properties": {
            "amount": {"type": "float", "description": "how much"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "dict", "properties": {}},
        },
        "required": ["amount"],
    }
    schema = normalize_schema(doc)
    assert schema["type"] == "object"
    assert schema["properties"]["amount"]["type"] == "number"
    assert schema["properties"]["meta"]["type"] == "object"
    model = args_model("pay", schema)
    assert validate_args(model, {"amount": 3, "tags": ["a"]}) == {"amount": 3.0, "tags": ["a"]}
    with pytest.raises(ArgumentsError, match=r"tags\.0"):
        validate_args(model, {"amount": 1.5, "tags": [{"x": 1}]})
    with pytest.raises(ArgumentsError, match="amount"):
        validate_args(model, {"tags": []})


def test_python_call_parsing() -> None:
    assert parse_call("mv(source='a.txt', destination='tmp')") == ("mv", {"source": "a.txt", "destination": "tmp"})
    assert parse_call("sort('report.pdf')", positional=("file_name",)) == ("sort", {"file_name": "report.pdf"})
    assert parse_call("f(x=[1, 2], y={'k': None}, z=-1.5)") == ("f", {"x": [1, 2], "y": {"k": None}, "z": -1.5})
    with pytest.raises(CallSyntaxError, match="literal"):
        parse_call("rm(name=__import__('os').getcwd())")
    with pytest.raises(CallSyntaxError, match="positional"):
        parse_call("sort('a', 'b')", positional=("file_name",))
    with pytest.raises(CallSyntaxError, match="not a call"):
        parse_call("hello there")


def test_actions_from_the_shapes_models_write() -> None:
    assert action_from_data({"tool": "ls", "arguments": {"a": True}}) == ToolAction.call("ls", a=True)
    assert action_from_data({"name": "ls", "arguments": '{"a": true}'}) == ToolAction.call("ls", a=True)
    assert action_from_data({"tool": "final_answer", "arguments": {"answer": "done"}}) == ToolAction.answer("done")
    assert action_from_data({"tool": "give_up_and_restart", "arguments": {}}).kind == "give_up"
    assert action_from_data("cd(folder='x')") == ToolAction.call("cd", folder="x")
    roundtrip = ToolAction.call("cd", folder="x").model_dump(mode="json")
    assert action_from_data(roundtrip) == ToolAction.call("cd", folder="x")
    with pytest.raises(CallSyntaxError, match="tool name"):
        action_from_data({"arguments": {}})


def test_reply_schema_has_one_branch_per_tool_and_the_give_up_only_when_offered() -> None:
    spec, _ = spec_from_callable(book_flight)
    with_give_up = reply_schema([spec], allow_give_up=True)
    names = [b["properties"]["tool"]["const"] for b in with_give_up["anyOf"]]
    assert names == ["book_flight", "final_answer", "give_up_and_restart"]
    arguments = with_give_up["anyOf"][0]["properties"]["arguments"]
    assert arguments["required"] == ["origin", "destination"]
    assert arguments["additionalProperties"] is False
    assert "description" not in arguments["properties"]["origin"]
    without = reply_schema([spec], allow_give_up=False)
    assert [b["properties"]["tool"]["const"] for b in without["anyOf"]] == ["book_flight", "final_answer"]
    tools = native_tools([spec], allow_give_up=False)
    assert [t["function"]["name"] for t in tools] == ["book_flight", "final_answer"]
