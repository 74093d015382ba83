"""MCTS child selection: small pure functions that score a child; the search follows the highest.

A selection function takes the parent's visit count, the child, and the child's prior (the
policy's, or uniform over the siblings where the policy gave none) and returns a score. Values
are the child's own (`value_sum / visits`, from the side of the player who moved into it, who is
the one choosing at the parent). Proofs, virtual loss and tie-breaking are the search's
business, not the function's: MCTS skips proven losses, takes proven wins, and breaks equal
scores by the children's order (shuffled per expansion where it is asked to).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from treeagent.search.node import Node

#: (parent visits, child, child's prior) -> score; the child with the highest score is followed
SelectionFn = Callable[[int, Node, float], float]

#: the selection functions a command line can name (`--set selection=puct`)
SelectionName = Literal["uct", "puct"]

_INF = float("inf")


def uct_score(c: float) -> SelectionFn:
    """UCT (UCB1 on trees): q + c sqrt(ln N / n). An unvisited child scores +inf, so every child
    is tried once before any is tried twice; the prior is not used."""

    def uct(parent_visits: int, child: Node, prior: float) -> float:
        n = child.visits
        if n == 0:
            return _INF
        log_n = math.log(parent_visits) if parent_visits > 0 else 0.0
        return child.value_sum / n + c * math.sqrt(log_n / n)

    return uct


def puct_score(c: float, fpu: float = 0.5) -> SelectionFn:
    """PUCT (AlphaZero): q + c p sqrt(N) / (1 + n), with q = `fpu` (first-play urgency) for an
    unvisited child. A parent not yet visited counts as visited once, so the priors order its
    first choice."""

    def puct(parent_visits: int, child: Node, prior: float) -> float:
        n = child.visits
        sqrt_n = math.sqrt(parent_visits) if parent_visits > 0 else 1.0
        q = child.value_sum / n if n else fpu
        return q + c * prior * sqrt_n / (1 + n)

    return puct


def named_selection(name: str, exploration: float, fpu: float) -> SelectionFn:
    """The selection function a name stands for, with the search's exploration constant."""
    if name == "uct":
        return uct_score(exploration)
    if name == "puct":
        return puct_score(exploration, fpu)
    raise ValueError(
        f"selection must be 'uct', 'puct' or a function (parent_visits, child, prior) -> score; got {name!r}"
    )
