"""Search tree nodes: one class shared by every controller, lean enough for 100k-node game trees."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from treeagent.environments.base import Step

KEY_SEPARATOR = "\x1f"


class Status(IntEnum):
    """Where a node is in its life. Failed nodes keep their error and are never expanded."""

    OPEN = 0
    EXPANDED = 1
    TERMINAL = 2
    FAILED = 3
    #: created by a lazy expansion; its environment step runs when a search first selects it.
    NEW = 4


class Node:
    """A state reached by a path of actions from the root.

    Values are from the side of `mover`, the player who made the move into this node (for
    single-agent tasks always player 0): 1 means solved / won for them. `value` is the evaluator's
    estimate (best-first, beam); `visits` and `value_sum` are MCTS statistics; `proven` is the
    MCTS-solver's exact value when known.
    """

    __slots__ = (
        "action",
        "children",
        "depth",
        "error",
        "give_up",
        "id",
        "key",
        "mover",
        "parent",
        "pending",
        "prior",
        "proven",
        "status",
        "step",
        "text",
        "tried",
        "value",
        "value_sum",
        "visits",
    )

    def __init__(
        self,
        id: int,
        parent: Node | None,
        action: Any,
        step: Step[Any] | None,
        mover: int | None,
        prior: float | None = None,
        text: str = "",
    ) -> None:
        self.id = id
        self.parent = parent
        self.action = action
        self.step = step
        self.mover = mover
        self.prior = prior
        self.text = text
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.children: list[Node] = []
        self.status = Status.OPEN
        self.error: str | None = None
        self.give_up = False
        self.value: float | None = None
        self.visits = 0
        self.value_sum = 0.0
        self.proven: float | None = None
        self.pending = False
        self.tried: list[Any] | None = None
        self.key: str | None = None

    # -- derived facts -------------------------------------------------------------------------
    @property
    def terminal(self) -> bool:
        return self.status == Status.TERMINAL

    @property
    def failed(self) -> bool:
        return self.status == Status.FAILED

    @property
    def solved(self) -> bool:
        """Terminal with full reward in a single-agent task."""
        step = self.step
        return step is not None and step.solved

    @property
    def mean_value(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0

    def path(self) -> list[Node]:
        """The nodes from the root to this one."""
        nodes: list[Node] = []
        node: Node | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        nodes.reverse()
        return nodes

    def __repr__(self) -> str:
        return (
            f"Node(id={self.id}, depth={self.depth}, action={self.text or self.action!r}, "
            f"status={self.status.name}, value={self.value}, visits={self.visits})"
        )


class Tree:
    """The nodes of one search, by id, with the root first."""

    __slots__ = ("nodes", "root")

    def __init__(self, root_step: Step[Any], root_mover: int | None) -> None:
        self.root = Node(0, None, None, root_step, root_mover)
        self.root.key = ""
        self.nodes: list[Node] = [self.root]

    def add(
        self,
        parent: Node,
        action: Any,
        step: Step[Any] | None,
        mover: int | None,
        prior: float | None = None,
        text: str = "",
    ) -> Node:
        node = Node(len(self.nodes), parent, action, step, mover, prior, text)
        self.nodes.append(node)
        parent.children.append(node)
        return node

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def best_leaf(self) -> Node:
        """The solved node if any, else the highest-valued node (deeper wins ties)."""
        best = self.root
        best_score = (-1.0, -1.0, -1)
        for node in self.nodes:
            if node.failed:
                continue
            if node.solved:
                return node
            value = node.value if node.value is not None else node.mean_value
            score = (value, float(node.terminal), node.depth)
            if score > best_score:
                best, best_score = node, score
        return best
