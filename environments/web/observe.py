"""The page as the model reads it: a compact text view built from the accessibility tree.

`Accessibility.getFullAXTree` (CDP, a few ms) gives roles, names, values and states. Each shown
node gets a small integer id, numbered in document order, that actions name (`click(5)`); the id
maps to the node's DOM backend id on that live page. Unnamed containers are skipped (their
children move up), text that repeats its parent's name is dropped, and the text is capped with a
clear marker. The fingerprint is a hash of the text: replaying a path must reproduce it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: roles whose node is never shown (their children are)
_SKIP_ROLES = frozenset({"InlineTextBox", "LineBreak", "none", "generic", "presentation", "ignored", "paragraph"})
_STATES = ("focused", "checked", "selected", "expanded", "pressed", "disabled", "required")
_EDITABLE = frozenset({"textbox", "searchbox", "combobox", "spinbutton", "textarea"})
#: shown even without a name: the model must be able to name them in actions
_INTERACTIVE = _EDITABLE | frozenset(
    {"button", "link", "checkbox", "radio", "slider", "switch", "tab", "menuitem", "option", "listbox", "treeitem"}
)


@dataclass(frozen=True, slots=True)
class Element:
    """One shown node: what the model sees and what actions may name."""

    id: int
    role: str
    name: str
    value: str = ""
    states: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def editable(self) -> bool:
        return self.role in _EDITABLE

    @property
    def selectable(self) -> bool:
        return bool(self.options) or self.role in ("combobox", "listbox")


@dataclass(frozen=True, slots=True)
class Observation:
    """The text view of one page, its elements, and where each id lives on the live page."""

    url: str
    title: str
    text: str
    elements: tuple[Element, ...]
    fingerprint: str
    #: element id -> DOM backend node id on the page it was read from (not part of the state)
    backend: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    truncated: bool = False


def _value(node: dict[str, Any], key: str) -> Any:
    item = node.get(key)
    return item.get("value") if isinstance(item, dict) else None


def _props(node: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p.get("value", {}).get("value") for p in node.get("properties", ())}


def _state_words(props: dict[str, Any]) -> tuple[str, ...]:
    words = []
    for name in _STATES:
        value = props.get(name)
        if value in (True, "true"):
            words.append(name)
        elif value == "mixed":
            words.append(f"{name}=mixed")
    return tuple(words)


def build_observation(nodes: list[dict[str, Any]], url: str, max_chars: int = 6000) -> Observation:
    """Turn a CDP AX tree into the text view (pure: the tests feed it recorded trees too)."""
    by_id = {n["nodeId"]: n for n in nodes}
    root = next((n for n in nodes if not n.get("parentId")), None)
    lines: list[str] = []
    elements: list[Element] = []
    backend: dict[int, int] = {}
    title = ""
    if root is not None:
        title = str(_value(root, "name") or "")

    def visit(node: dict[str, Any], depth: int, parent_name: str) -> None:
        role = str(_value(node, "role") or "")
        name = " ".join(str(_value(node, "name") or "").split())
        shown = not node.get("ignored") and role not in _SKIP_ROLES and role != "RootWebArea"
        if role == "StaticText" and name == parent_name:
            shown = False
        if not name and role not in _INTERACTIVE:
            shown = False  # an unnamed container: its children move up
        if role in ("generic", "paragraph") and name and not node.get("ignored"):
            shown = False  # its text comes through its StaticText children
        child_depth = depth
        if shown:
            props = _props(node)
            value = " ".join(str(_value(node, "value") or "").split())
            options: tuple[str, ...] = ()
            if role in ("combobox", "listbox"):
                options = tuple(_option_names(node, by_id))
            element = Element(len(elements) + 1, role, name, value, _state_words(props), options)
            elements.append(element)
            if node.get("backendDOMNodeId") is not None:
                backend[element.id] = int(node["backendDOMNodeId"])
            lines.append("  " * depth + _line(element))
            child_depth = depth + 1
        if shown and role in _EDITABLE and role != "combobox":
            return  # a field's text is its value, shown on its own line
        for child_id in node.get("childIds", ()):
            child = by_id.get(child_id)
            if child is not None:
                visit(child, child_depth, name if shown or role == "RootWebArea" else parent_name)

    if root is not None:
        visit(root, 0, "")
    header = f"URL: {url}\nTitle: {title}"
    body, truncated = _cap(lines, max_chars - len(header) - 1)
    text = header + "\n" + body
    digest = hashlib.sha1("\n".join(lines).encode()).hexdigest()[:16]
    return Observation(url, title, text, tuple(elements), digest, backend, truncated)


def _option_names(node: dict[str, Any], by_id: dict[Any, dict[str, Any]]) -> list[str]:
    names: list[str] = []
    todo = list(node.get("childIds", ()))
    while todo:
        child = by_id.get(todo.pop(0))
        if child is None:
            continue
        if _value(child, "role") == "option":
            names.append(" ".join(str(_value(child, "name") or "").split()))
        else:
            todo.extend(child.get("childIds", ()))
    return names


def _line(e: Element) -> str:
    parts = [f"[{e.id}] {e.role}"]
    parts.append(repr(e.name[:200]))
    if e.value and e.value != e.name:
        parts.append(f"value={e.value[:200]!r}")
    parts.extend(e.states)
    return " ".join(parts)


def _cap(lines: list[str], limit: int) -> tuple[str, bool]:
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > limit - 60:
            out.append(f"[... observation cut: {len(lines) - i} more lines not shown]")
            return "\n".join(out), True
        out.append(line)
        used += len(line) + 1
    return "\n".join(out), False


async def observe(page: Any, cdp: Any, max_chars: int = 6000) -> Observation:
    """Read the live page's accessibility tree and build its observation."""
    tree = await cdp.send("Accessibility.getFullAXTree")
    return build_observation(tree.get("nodes", []), page.url, max_chars)
