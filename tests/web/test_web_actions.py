"""Parsing the model's actions and building the page's text view (no browser needed)."""

from __future__ import annotations

import pytest

from treeagent.environments.base import InvalidAction
from treeagent.environments.web import WebAction, parse_action
from treeagent.environments.web.actions import check_target, is_irreversible
from treeagent.environments.web.observe import Element, build_observation


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("click(3)", WebAction(kind="click", id=3)),
        ("click [12]", WebAction(kind="click", id=12)),
        ("Action: click(4) [button 'OK']", WebAction(kind="click", id=4)),
        ("click(4) (button 'OK')", WebAction(kind="click", id=4)),
        ('type(4, "a, b")', WebAction(kind="type", id=4, text="a, b")),
        ("type [7] [hello world]", WebAction(kind="type", id=7, text="hello world")),
        ("fill(2, x)", WebAction(kind="type", id=2, text="x")),
        ('select(3, "Blue (dark)")', WebAction(kind="select", id=3, text="Blue (dark)")),
        ('press("Enter")', WebAction(kind="press", text="Enter")),
        ("press(Control+a)", WebAction(kind="press", text="Control+a")),
        ("scroll(up)", WebAction(kind="scroll", text="up")),
        ("scroll()", WebAction(kind="scroll", text="down")),
        ('goto("http://127.0.0.1:8000/x")', WebAction(kind="goto", text="http://127.0.0.1:8000/x")),
        ("back()", WebAction(kind="back")),
        ('stop("42")', WebAction(kind="stop", text="42")),
        ("I think so.\nclick(5)", WebAction(kind="click", id=5)),
    ],
)
def test_parse_accepts_the_documented_forms(reply: str, expected: WebAction) -> None:
    assert parse_action(reply) == expected


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty reply"),
        ("jump(3)", "unknown action 'jump'"),
        ("click()", "needs an element id"),
        ("click(the button)", "numeric element id"),
        ("type(3)", "needs a second argument"),
        ('press("No Such Key")', "unknown key"),
        ('goto("example.com")', "absolute http"),
        ("scroll(sideways)", "up or down"),
    ],
)
def test_parse_rejects_with_a_reason(reply: str, reason: str) -> None:
    with pytest.raises(InvalidAction, match=reason):
        parse_action(reply)


def test_render_round_trips() -> None:
    for action in (
        WebAction(kind="type", id=2, text='say "hi", ok'),
        WebAction(kind="select", id=1, text="Green"),
        WebAction(kind="scroll", text="up"),
        WebAction(kind="stop", text=""),
        WebAction(kind="back"),
    ):
        assert parse_action(action.render()) == action


ELEMENTS = (
    Element(1, "button", "Buy now"),
    Element(2, "textbox", "Name"),
    Element(3, "combobox", "Color", "Red", options=("Red", "Blue")),
    Element(4, "link", "Home"),
)


def test_targets_are_checked_against_the_page() -> None:
    with pytest.raises(InvalidAction, match=r"no element \[9\]"):
        check_target(WebAction(kind="click", id=9), ELEMENTS)
    with pytest.raises(InvalidAction, match="not a text field"):
        check_target(WebAction(kind="type", id=1, text="x"), ELEMENTS)
    with pytest.raises(InvalidAction, match="no option 'Pink'"):
        check_target(WebAction(kind="select", id=3, text="Pink"), ELEMENTS)
    assert check_target(WebAction(kind="type", id=2, text="x"), ELEMENTS) == ELEMENTS[1]


def test_irreversible_actions_are_flagged() -> None:
    assert is_irreversible(WebAction(kind="click", id=1), ELEMENTS[0])
    assert not is_irreversible(WebAction(kind="click", id=4), ELEMENTS[3])
    assert is_irreversible(WebAction(kind="press", text="Enter"), None)
    assert not is_irreversible(WebAction(kind="type", id=2, text="x"), ELEMENTS[1])


def _node(node_id: str, role: str, name: str = "", parent: str | None = None, children=(), **extra):  # type: ignore[no-untyped-def]
    node = {"nodeId": node_id, "role": {"value": role}, "name": {"value": name}, "childIds": list(children)}
    if parent:
        node["parentId"] = parent
    node["backendDOMNodeId"] = int(node_id)
    node.update(extra)
    return node


def test_observation_ids_skip_containers_and_cap_with_a_marker() -> None:
    nodes = [
        _node("1", "RootWebArea", "Page", children=["2"]),
        _node("2", "generic", "", "1", children=["3", "5", "7"]),
        _node("3", "button", "Go", "2", children=["4"]),
        _node("4", "StaticText", "Go", "3"),
        _node(
            "5",
            "textbox",
            "",
            "2",
            value={"value": "typed"},
            properties=[{"name": "focused", "value": {"value": True}}],
        ),
        _node("7", "StaticText", "Some words", "2"),
    ]
    obs = build_observation(nodes, "http://x/", max_chars=4000)
    assert obs.text.splitlines()[2:] == [
        "[1] button 'Go'",
        "[2] textbox '' value='typed' focused",
        "[3] StaticText 'Some words'",
    ]
    assert obs.backend == {1: 3, 2: 5, 3: 7}
    many = [_node("1", "RootWebArea", "Page", children=[str(i) for i in range(2, 200)])]
    many += [_node(str(i), "button", f"Button number {i}", "1") for i in range(2, 200)]
    cut = build_observation(many, "http://x/", max_chars=500)
    assert cut.truncated and len(cut.text) <= 500
    assert "[... observation cut:" in cut.text
    assert len(cut.elements) == 198  # every element can still be named by id
