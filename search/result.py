"""What a search returns: the best trajectory, whether it solved the task, the tree and the stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from treeagent.environments.base import Task
from treeagent.search.budget import Stats
from treeagent.search.node import Node, Tree


@dataclass
class SearchResult:
    """The outcome of `Controller.run`.

    best: the solved node if the search solved the task, else the most promising node it found.
    stop_reason: "solved", "exhausted" (nothing left to expand), or the budget limit that was hit.
    warnings: what the search noticed that makes its answer doubtful (an environment whose step
        changed the state it was given), one line each.
    call_free: the ids of the nodes made without asking the model (token edits, say): the
        calls in `stats` were spent on the others.
    """

    controller: str
    task: Task
    solved: bool
    best: Node
    tree: Tree
    stats: Stats
    stop_reason: str
    trace_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    call_free: frozenset[int] = frozenset()

    @property
    def best_path(self) -> list[Node]:
        return self.best.path()

    @property
    def best_actions(self) -> list[Any]:
        return [node.action for node in self.best_path[1:]]

    @property
    def best_texts(self) -> list[str]:
        return [node.text for node in self.best_path[1:]]

    @property
    def best_value(self) -> float:
        node = self.best
        if node.value is not None:
            return node.value
        return node.mean_value

    @property
    def failure(self) -> str | None:
        """The one error every node of the search failed with (a bug in the environment or the
        policy, usually), or None when some node worked or the errors differ."""
        if self.solved:
            return None
        root = self.tree.root
        grown = [n for n in self.tree if n is not root]
        if not root.failed and (not grown or any(not n.failed for n in grown)):
            return None
        errors = {n.error for n in self.tree if n.failed}
        return next(iter(errors)) if len(errors) == 1 else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready digest (the `end` record of the trace)."""
        return {
            "controller": self.controller,
            "task": self.task.id,
            "solved": self.solved,
            "stop_reason": self.stop_reason,
            "best": self.best.id,
            "best_path": [n.id for n in self.best_path],
            "best_actions": self.best_texts,
            "best_value": round(self.best_value, 6),
            "nodes": len(self.tree),
            "stats": self.stats.as_dict(),
        }
