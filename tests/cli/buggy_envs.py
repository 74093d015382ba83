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


class AppendsToState(Environment[list[int], int]):
    """Count up to 3 with the moves made so far as the state; its step appends to the list it was
    given, so every sibling is stepped from a parent that has changed under it."""

    name = "appends"
    capabilities = Capabilities(deterministic=True, cheap_clone=True)

    async def reset(self, task: Task) -> Step[list[int]]:
        return Step([], observation="0")

    async def step(self, state: list[int], action: int) -> Step[list[int]]:
        return self.step_now(state, action)

    def step_now(self, state: list[int], action: int) -> Step[list[int]]:
        state.append(action)  # the bug: `state + [action]` would be a new list
        total = sum(state)
        return Step(state, observation=str(total), reward=1.0 if total == 3 else 0.0, terminal=total >= 3)

    def legal_actions(self, state: list[int]) -> list[int]:
        return [1, 2]

    def render(self, state: list[int]) -> str:
        return str(sum(state))


class AppendsToStateAsync(AppendsToState):
    """The same bug in an environment stepped asynchronously (no cheap clone)."""

    capabilities = Capabilities(deterministic=True, cheap_clone=False)

    async def step(self, state: list[int], action: int) -> Step[list[int]]:
        state.append(action)  # the bug
        return Step(list(state), observation=str(sum(state)), terminal=sum(state) >= 3)


class ListCounter(AppendsToState):
    """The well-behaved version: a new list per step."""

    def step_now(self, state: list[int], action: int) -> Step[list[int]]:
        new = [*state, action]
        return Step(new, observation=str(sum(new)), reward=1.0 if sum(new) == 3 else 0.0, terminal=sum(new) >= 3)
