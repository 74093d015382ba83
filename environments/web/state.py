"""A web search state: the action path from the task's start page and what the page showed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from treeagent.environments.web.actions import WebAction
from treeagent.environments.web.observe import Element

#: joins a task id and the rendered actions of a path into a state's key
KEY_SEP = "\x1f"


@dataclass(frozen=True, slots=True, eq=False)
class WebState:
    """A node of the search: the path from the start page and what it showed."""

    task_id: str
    goal: str
    path: tuple[WebAction, ...]
    #: fingerprint of the page after 0, 1, ..., len(path) actions
    prints: tuple[str, ...]
    #: per action of `path`: did it (likely) commit something outside the page?
    irreversible: tuple[bool, ...]
    observation: str
    elements: tuple[Element, ...]
    url: str
    done: bool = False
    reward: float = 0.0
    reason: str = ""
    needs_judge: bool = False
    answer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self, depth: int | None = None) -> str:
        depth = len(self.path) if depth is None else depth
        return KEY_SEP.join([self.task_id, *(a.render() for a in self.path[:depth])])

    def prefix_keys(self) -> list[str]:
        keys = [self.task_id]
        for action in self.path:
            keys.append(keys[-1] + KEY_SEP + action.render())
        return keys
