"""The plausible actions on a page, for a model that picks from a list (guided decoding) rather
than writing actions freely: clicks on controls, the goal's quoted strings typed into fields,
options chosen, then clicks on short plain text (menus, trees)."""

from __future__ import annotations

import re

from treeagent.environments.web.actions import WebAction
from treeagent.environments.web.state import WebState

CLICKABLE_ROLES = frozenset(
    {
        "button",
        "link",
        "checkbox",
        "radio",
        "tab",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "option",
        "treeitem",
        "switch",
        "listitem",
        "gridcell",
        "cell",
        "heading",
        "image",
        "img",
        "StaticText",
        "textbox",
        "searchbox",
        "combobox",
        "spinbutton",
    }
)
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")


def plausible_actions(state: WebState, with_stop: bool, limit: int = 200) -> list[WebAction]:
    """Controls first, then plain text; `with_stop` adds stop("") (a user's site, which may need it)."""
    if state.done:
        return []
    wanted = [a or b for a, b in QUOTED.findall(state.goal)]
    controls: list[WebAction] = []
    texts: list[WebAction] = []
    for e in state.elements:
        if e.role == "StaticText":
            if len(e.name) <= 60:
                texts.append(WebAction(kind="click", id=e.id))
            continue
        if e.role in CLICKABLE_ROLES:
            controls.append(WebAction(kind="click", id=e.id))
        if e.editable:
            controls.extend(WebAction(kind="type", id=e.id, text=w) for w in wanted)
        if e.options:
            controls.extend(WebAction(kind="select", id=e.id, text=o) for o in e.options)
    actions = controls + texts
    if with_stop:
        actions.append(WebAction(kind="stop", text=""))
    return actions[:limit]
