"""Environments with the bugs a user's first environment has (used by test_cli_env_bugs.py)."""

from __future__ import annotations

from treeagent.environments.base import Capabilities, Environment, Step, Task


class Counter(Environment[int, int]):
    """Count up to 3 by adding 1 or 2; a correct environment the buggy ones below break."""

    name = "counter"
    capabilities = Capabilities(deterministic=True, cheap_clone=True)

    async def reset(self, task: Task) -> Step[int]:
        return Step(0, observation="0")

    async def step(self, state: int, action: int) -> Step[int]:
        return self.step_now(state, action)

    def step_now(self, state: int, action: int) -> Step[int]:
        new = state + action
        return Step(new, observation=str(new), reward=1.0 if new == 3 else 0.0, terminal=new >= 3)

    def legal_actions(self, state: int) -> list[int]:
        return [1, 2]

    def render(self, state: int) -> str:
        return str(state)


class StepNameError(Counter):
    def step_now(self, state: int, action: int) -> Step[int]:
        return Step(state + action, observation=str(totl))  # noqa: F821  # the bug: a typo


class BadLegalActions(Counter):
    def legal_actions(self, state: int) -> list[int]:
        moves = (1, 2)
        return [moves[moves.index(3)]]  # the bug: 3 is not a move


class NoLegalActions(Counter):
    def legal_actions(self, state: int) -> None:  # type: ignore[override]
        return None
