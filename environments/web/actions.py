"""Web actions: what they are, how a model writes them, and which ones cannot be undone.

A model writes one action per reply, e.g. `click(12)`, `type(7, "hello")`, `press("Enter")`,
`select(5, "Blue")`, `scroll("down")`, `goto("https://...")`, `back()`, `stop("answer")`.
Brackets work too (`click [12]`, `type [7] [hello]`, as WebArena writes them). A reply that is
not an action, or names an element the page does not have, raises `InvalidAction` with the reason:
the search makes it a failed child.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from treeagent.environments.base import InvalidAction
from treeagent.environments.web.observe import Element

Kind = Literal["click", "type", "press", "select", "scroll", "goto", "back", "stop"]
KINDS: tuple[str, ...] = ("click", "type", "press", "select", "scroll", "goto", "back", "stop")
_NEEDS_ID = frozenset({"click", "type", "select"})
_ALIASES = {
    "fill": "type",
    "input": "type",
    "enter": "type",
    "go_back": "back",
    "goback": "back",
    "navigate": "goto",
    "open": "goto",
    "answer": "stop",
    "finish": "stop",
    "done": "stop",
    "key": "press",
    "hotkey": "press",
    "choose": "select",
    "select_option": "select",
}
_KEY = re.compile(r"^(?:(?:Control|Shift|Alt|Meta)\+)*[A-Za-z0-9]+$|^.$")
#: names of buttons and links whose click usually commits something outside the page's state
_IRREVERSIBLE = re.compile(
    r"\b(buy|purchase|pay|checkout|order|place order|delete|remove|send|submit|confirm|book|transfer|post)\b",
    re.IGNORECASE,
)


class WebAction(BaseModel):
    """One browser action; `id` names an element of the current observation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    id: int | None = Field(default=None, ge=1)
    text: str | None = None

    @model_validator(mode="after")
    def _check(self) -> WebAction:
        if self.kind in _NEEDS_ID and self.id is None:
            raise ValueError(f"{self.kind} needs an element id, e.g. {self.kind}(3)")
        if self.kind in ("type", "select", "press", "goto") and self.text is None:
            raise ValueError(f"{self.kind} needs a text argument")
        if self.kind == "press" and not _KEY.match(self.text or ""):
            raise ValueError(f"unknown key {self.text!r}: write a key name such as Enter, Tab, ArrowDown, Control+a")
        if self.kind == "scroll" and (self.text or "down") not in ("up", "down"):
            raise ValueError(f"scroll direction must be up or down, not {self.text!r}")
        if self.kind == "goto" and not re.match(r"^(https?|file)://", self.text or ""):
            raise ValueError(f"goto needs an absolute http(s) URL, not {self.text!r}")
        return self

    def render(self) -> str:
        """The canonical text form, the one the prompt teaches."""
        args: list[str] = []
        if self.id is not None:
            args.append(str(self.id))
        if self.text is not None and not (self.kind == "scroll" and self.text == "down"):
            args.append(json.dumps(self.text, ensure_ascii=False))
        return f"{self.kind}({', '.join(args)})"


def click(id: int) -> WebAction:
    return WebAction(kind="click", id=id)


def type_text(id: int, text: str) -> WebAction:
    return WebAction(kind="type", id=id, text=text)


def press(key: str) -> WebAction:
    return WebAction(kind="press", text=key)


def select(id: int, option: str) -> WebAction:
    return WebAction(kind="select", id=id, text=option)


def stop(answer: str = "") -> WebAction:
    return WebAction(kind="stop", text=answer)


_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*(.*?)\s*$", re.DOTALL)


def parse_action(reply: str) -> WebAction:
    """The action written in `reply` (first line that looks like one); `InvalidAction` otherwise."""
    text = reply.strip().strip("`").strip()
    if not text:
        raise InvalidAction("empty reply: write one action such as click(3)")
    errors: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:next\s+)?(?:action|answer)\s*[:：-]\s*", "", line, flags=re.IGNORECASE).strip()
        if not line:
            continue
        try:
            return _parse_line(line)
        except InvalidAction as exc:
            errors.append(str(exc))
    raise InvalidAction(errors[0] if errors else f"no action in reply {text[:80]!r}")


def _parse_line(line: str) -> WebAction:
    match = _CALL.match(line)
    if match is None:
        raise InvalidAction(f'not an action: {line[:80]!r}; write e.g. click(3) or type(4, "text")')
    name = match.group(1).lower()
    name = _ALIASES.get(name, name)
    if name not in KINDS:
        raise InvalidAction(f"unknown action {match.group(1)!r}; use one of: {', '.join(KINDS)}")
    args = _split_args(match.group(2))
    kind: Kind = name  # type: ignore[assignment]
    try:
        if kind in _NEEDS_ID:
            if not args:
                raise InvalidAction(f"{kind} needs an element id, e.g. {kind}(3)")
            ident = args[0].lstrip("#")
            if not ident.isdigit():
                raise InvalidAction(f"{kind} needs a numeric element id, got {args[0]!r}")
            rest = args[1] if len(args) > 1 else None
            if kind == "click":
                return WebAction(kind="click", id=int(ident))
            if rest is None:
                raise InvalidAction(f'{kind} needs a second argument, e.g. {kind}({ident}, "...")')
            return WebAction(kind=kind, id=int(ident), text=rest)
        if kind == "back":
            return WebAction(kind="back")
        if kind == "scroll":
            return WebAction(kind="scroll", text=(args[0].lower() if args else "down"))
        if kind == "stop":
            return WebAction(kind="stop", text=args[0] if args else "")
        if not args:
            raise InvalidAction(f'{kind} needs an argument, e.g. {kind}("...")')
        return WebAction(kind=kind, text=args[0])
    except ValueError as exc:  # pydantic's validation of the fields
        raise InvalidAction(f"bad {kind} action: {_first_error(exc)}") from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        items = errors()
        if items:
            return str(items[0].get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


_PAREN = re.compile(r"""^\(((?:[^()"']|"(?:\\.|[^"\\])*"|'[^']*')*)\)""")


def _split_args(raw: str) -> list[str]:
    """`(3, "a, b")`, `[3] [a, b]` or `3 hello` -> ['3', 'a, b'] / ['3', 'hello'].

    Whatever follows the closing parenthesis (the element description that `action_text` adds,
    `click(3) (button 'OK')`) is ignored."""
    raw = raw.strip()
    paren = _PAREN.match(raw)
    if paren is not None:
        raw = paren.group(1)
    elif raw.startswith("("):
        raw = raw[1:]
    if raw.startswith("["):
        return [part.strip() for part in re.findall(r"\[([^\]]*)\]", raw)]
    args: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch in " ,\t":
            i += 1
            continue
        if ch in "\"'":
            end = i + 1
            while end < len(raw) and raw[end] != ch:
                end += 2 if raw[end] == "\\" else 1
            token = raw[i : end + 1]
            try:
                args.append(json.loads(token) if ch == '"' else token[1:-1])
            except ValueError:
                args.append(token.strip("\"'"))
            i = end + 1
        else:
            end = raw.find(",", i)
            end = len(raw) if end < 0 else end
            args.append(raw[i:end].strip())
            i = end + 1
    return args


def check_target(action: WebAction, elements: tuple[Element, ...]) -> Element | None:
    """The element the action names, or `InvalidAction` if the page has none with that id/kind."""
    if action.id is None:
        return None
    if not 1 <= action.id <= len(elements):
        raise InvalidAction(f"no element [{action.id}] on this page (ids run from 1 to {len(elements)})")
    element = elements[action.id - 1]
    if action.kind == "type" and not element.editable:
        raise InvalidAction(f"element [{action.id}] is a {element.role}, not a text field: cannot type into it")
    if action.kind == "select" and not element.selectable:
        raise InvalidAction(f"element [{action.id}] is a {element.role}, not a list: cannot select in it")
    if action.kind == "select" and element.options and action.text not in element.options:
        raise InvalidAction(f"[{action.id}] has no option {action.text!r}; options: {', '.join(element.options)}")
    return element


def is_irreversible(action: WebAction, element: Element | None) -> bool:
    """Does the action likely commit something (a purchase, a sent message, a submitted form)?"""
    if action.kind == "press" and (action.text or "").endswith("Enter"):
        return True
    if action.kind == "click" and element is not None and element.role in ("button", "link", "menuitem"):
        return bool(_IRREVERSIBLE.search(element.name))
    return False
