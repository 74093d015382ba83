"""Repeated sampling (best-of-N) as a search controller, with no model: a one-step guessing task."""

from __future__ import annotations

from typing import Any

import pytest

from treeagent.agents.heuristics import UniformPolicy
from treeagent.environments.base import Environment, Step, Task
from treeagent.search import Budget, RepeatedSampling, Status


class Guess(Environment[int | None, int]):
    """Name the secret number in 0..9 in one move."""

    name = "guess"

    def __init__(self, secret: int) -> None:
        self.secret = secret

    async def reset(self, task: Task) -> Step[int | None]:
        return Step(state=None, observation="guess a number from 0 to 9")

    async def step(self, state: int | None, action: int) -> Step[int | None]:
        right = action == self.secret
        return Step(state=action, observation="right" if right else "wrong", reward=float(right), terminal=True)

    def legal_actions(self, state: int | None) -> list[int]:
        return list(range(10))

    def render(self, state: int | None) -> str:
        return "" if state is None else str(state)


async def _run(secret: int, **kwargs: Any) -> Any:
    controller = RepeatedSampling(UniformPolicy(), batch=3, seed=5, **kwargs)
    return await controller.run(Guess(secret), Task(id="guess"))


async def test_samples_new_candidates_at_the_root_until_one_solves_the_task() -> None:
    result = await _run(7)
    root = result.tree.root
    guesses = [c.action for c in root.children]
    assert result.solved and result.stop_reason == "solved" and result.best.action == 7
    assert len(guesses) == len(set(guesses)), "a candidate already tried is not drawn again"
    assert all(c.status == Status.TERMINAL and c.depth == 1 for c in root.children)
    assert result.stats.expansions == -(-len(guesses) // 3)  # `batch` candidates per expansion


async def test_stops_when_no_new_candidate_comes_or_the_budget_is_spent() -> None:
    result = await _run(42)  # not a legal guess: never solved
    assert not result.solved and result.stop_reason == "exhausted"
    assert sorted(c.action for c in result.tree.root.children) == list(range(10))
    assert result.stats.expansions == 4 + 3  # 10 guesses in rounds of 3, then 3 empty rounds
    capped = await _run(42, budget=Budget(max_expansions=2))
    assert len(capped.tree.root.children) == 6 and capped.stop_reason == "max_expansions"


def test_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch must be at least 1"):
        RepeatedSampling(UniformPolicy(), batch=0)
