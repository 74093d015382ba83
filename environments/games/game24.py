"""The Game of 24 (as in Tree of Thoughts) as a single-agent `Environment`.

Each move combines two of the remaining numbers with + - * / into one, in exact arithmetic;
the game ends when one number is left, with reward 1.0 if it is the target (24). Moves are
`Combine` values whose JSON form is their text ("6 * 4 = 24"), and the parser accepts what a
model writes, so an LLM policy and a uniform policy can drive the same environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, Task
from treeagent.environments.games.arith import Combine, ParseError, fmt, legal_moves, parse_combine

__all__ = ["Game24Env", "Game24State", "game24_task"]

TARGET = 24


@dataclass(frozen=True, slots=True)
class Game24State:
    """The numbers left (sorted), the moves made so far (as text) and the target."""

    numbers: tuple[Fraction, ...]
    history: tuple[str, ...] = ()
    target: Fraction = Fraction(TARGET)

    @property
    def terminal(self) -> bool:
        return len(self.numbers) <= 1

    @property
    def solved(self) -> bool:
        return len(self.numbers) == 1 and self.numbers[0] == self.target


def _numbers_text(numbers: Sequence[Fraction]) -> str:
    return " ".join(fmt(n) for n in numbers)


def game24_task(numbers: Sequence[int | str | Fraction], target: int = TARGET) -> Task:
    """The task for one puzzle, e.g. `game24_task([4, 9, 10, 13])`."""
    values = _parse_numbers(numbers)
    shown = _numbers_text(sorted(values))
    data: dict[str, Any] = {"numbers": [fmt(v) if v.denominator != 1 else int(v) for v in values]}
    if target != TARGET:
        data["target"] = target
    prefix = "24" if target == TARGET else f"{target}"
    return Task(
        id=f"{prefix}:{shown}",
        prompt=(
            f"Use the numbers {shown} and + - * / to obtain {target}. Each step combines two of the "
            f"remaining numbers into one, written like '4 * 6 = 24'; every number is used exactly once."
        ),
        data=data,
    )


def _parse_numbers(raw: object) -> list[Fraction]:
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"a Game of 24 task needs a non-empty list of numbers, got {raw!r}")
    values: list[Fraction] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int | str | Fraction):
            raise ValueError(f"{item!r} is not a number; give integers like [4, 9, 10, 13]")
        try:
            values.append(Fraction(item))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{item!r} is not a number; give integers like [4, 9, 10, 13]") from None
    return values


@lru_cache(maxsize=1 << 16)
def _legal_moves(numbers: tuple[Fraction, ...]) -> tuple[Combine, ...]:
    """Cached: the same multisets come back across a tree (transpositions) and across puzzles."""
    return tuple(legal_moves(numbers)) if len(numbers) > 1 else ()


class Game24Env(Environment[Game24State, Combine]):
    """Stateless and pure: states are immutable values, so `step_now` is safe to call anywhere."""

    capabilities = Capabilities(deterministic=True, cheap_clone=True, players=1)
    name = "game24"

    async def reset(self, task: Task) -> Step[Game24State]:
        numbers = _parse_numbers(task.data.get("numbers"))
        target = _parse_numbers([task.data.get("target", TARGET)])[0]
        state = Game24State(tuple(sorted(numbers)), (), target)
        return Step(state, self.render(state), terminal=state.terminal, reward=float(state.solved))

    async def step(self, state: Game24State, action: Combine | str) -> Step[Game24State]:
        return self.step_now(state, action)

    def step_now(self, state: Game24State, action: Combine | str) -> Step[Game24State]:
        if isinstance(action, str):
            action = self.decode_action(action)
        elif not isinstance(action, Combine):
            raise InvalidAction(f"a move is a Combine or text like '4 * 6 = 24', not {action!r}")
        numbers = state.numbers
        if len(numbers) <= 1:
            raise InvalidAction("the game is over: one number is left")
        rest = list(numbers)
        try:
            rest.remove(action.left)
            rest.remove(action.right)
        except ValueError:
            raise InvalidAction(
                f"{action} uses a number that is not left; remaining numbers: {_numbers_text(numbers)}"
            ) from None
        try:
            result = action.result
        except ZeroDivisionError:
            raise InvalidAction(f"{action}: division by zero is not allowed") from None
        except ParseError as exc:
            raise InvalidAction(str(exc)) from None
        rest.append(result)
        rest.sort()
        left = tuple(rest)
        text = f"{action.text(result)} (left: {_numbers_text(left)})"
        new = Game24State(left, (*state.history, text), state.target)
        if len(left) == 1:
            return Step(new, text, 1.0 if result == state.target else 0.0, True)
        return Step(new, text)

    def legal_actions(self, state: Game24State) -> list[Combine]:
        return list(_legal_moves(state.numbers))

    def render(self, state: Game24State) -> str:
        lines = [f"Target: {fmt(state.target)}", f"Remaining numbers: {_numbers_text(state.numbers)}"]
        if state.history:
            lines.append("Steps so far:")
            lines.extend(f"{i}. {h}" for i, h in enumerate(state.history, 1))
        if state.terminal:
            lines.append("Solved." if state.solved else "Not solved: the last number is not the target.")
        return "\n".join(lines)

    def encode_action(self, action: Combine) -> str:
        return str(action)

    def decode_action(self, data: Any) -> Combine:
        if isinstance(data, Combine):
            return data
        try:
            return parse_combine(data)
        except ParseError as exc:
            raise InvalidAction(str(exc)) from None

    def action_key(self, action: Combine) -> str:
        return str(action)

    def action_text(self, action: Combine, state: Game24State | None = None) -> str:
        return str(action)
