"""The Environment contract: what every adapter (code, web, tools, games) implements.

Controllers see environments only through this module. An environment is *functional* from the
controller's side: `step(state, action)` returns a new `Step` and never mutates the state it was
given, so siblings can be expanded concurrently from the same parent state.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

S = TypeVar("S")
A = TypeVar("A")


class Task(BaseModel):
    """One problem instance handed to `Environment.reset`.

    `prompt` is what a model reads; `data` holds whatever the environment needs (tests, a game
    name and position, a start URL, tool specs). Tasks cross the public boundary, so they are
    validated and serialisable into traces.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    prompt: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a controller may assume about an environment.

    deterministic: the same action from the same state gives the same step (replay is exact).
    cheap_clone: stepping is fast and pure; controllers may step it synchronously via `step_now`.
    irreversible: actions have effects outside the state (a purchase, an e-mail); controllers
        should not explore freely.
    players: 1 for single-agent tasks; 2 or more for games (rewards then come per player).
    """

    deterministic: bool = True
    cheap_clone: bool = False
    irreversible: bool = False
    players: int = 1


@dataclass(slots=True)
class Step(Generic[S]):
    """The result of `reset` or `step`.

    observation: text a model can read (the environment's rendering of what just happened).
    reward: for single-agent environments, the scalar reward of this transition, in [0, 1] when
        terminal (1 = solved).
    returns: for multi-player environments at a terminal state, one return per player in [-1, 1].
    to_play: the player to move in `state` (None for single-agent or terminal states).
    info: structured extras (test results, page URL, tool output, ...).
    """

    state: S
    observation: str = ""
    reward: float = 0.0
    terminal: bool = False
    to_play: int | None = None
    returns: tuple[float, ...] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def solved(self) -> bool:
        """A terminal single-agent step with full reward."""
        return self.terminal and self.returns is None and self.reward >= 1.0


class StepError(Exception):
    """Raised by an environment for a bad action or a broken state; the controller marks the node failed."""


class InvalidAction(StepError):
    """The action is not legal in this state (the node becomes a failed child, the search goes on)."""


class Environment(ABC, Generic[S, A]):
    """Base class for environments. Subclass it and write `reset`, `step` and `render`.

    Everything else (controllers, budgets, traces, the viewer, the command line's `run`) works
    with a subclass unchanged. Optional: `legal_actions` for finite action spaces, `describe` for
    the prompt's task text, `encode_action`/`decode_action` when actions are not plain JSON.
    """

    capabilities: ClassVar[Capabilities] = Capabilities()
    name: ClassVar[str] = "environment"

    @abstractmethod
    async def reset(self, task: Task) -> Step[S]:
        """The initial step for `task`."""

    @abstractmethod
    async def step(self, state: S, action: A) -> Step[S]:
        """Apply `action` to `state` and return the new step; never mutate `state`."""

    def step_now(self, state: S, action: A) -> Step[S]:
        """Synchronous step for environments with `cheap_clone`; the hot path of game search.

        Environments whose step is cheap and pure override this and let `step` call it, so that a
        controller running thousands of simulations per second pays no event-loop round trip.
        """
        raise NotImplementedError(f"{type(self).__name__} has no synchronous step")

    def advance(self, state: S, action: A) -> Step[S]:
        """A synchronous step for simulations, with an action taken from `legal_actions(state)`.

        Random rollouts call this thousands of times per second; an environment may skip the
        legality check and the observation text here. By default it is `step_now`.
        """
        return self.step_now(state, action)

    def legal_actions(self, state: S) -> list[A] | None:
        """The finite list of legal actions in `state`, or None when the action space is open."""
        return None

    @abstractmethod
    def render(self, state: S) -> str:
        """The state as text, for prompts and for the trace viewer."""

    def describe(self, task: Task) -> str:
        """The task as the model should read it."""
        return task.prompt

    def encode_action(self, action: A) -> Any:
        """The action as JSON, for traces and resumption. Plain data and pydantic models work as is."""
        if isinstance(action, BaseModel):
            return action.model_dump(mode="json")
        return action

    def decode_action(self, data: Any) -> A:
        """The inverse of `encode_action`."""
        return data

    def parse_action(self, state: S, text: str) -> A:
        """The action a model wrote as `text`, in `state` (raise `InvalidAction` if it names none).

        Games whose move names depend on the state (chess "Nf3", connect_four "x3") override this;
        by default the text is decoded as the action's JSON form.
        """
        return self.decode_action(text)

    def action_key(self, action: A) -> str:
        """A canonical string for de-duplicating actions and keying caches."""
        if type(action) is int or type(action) is str:
            return repr(action)
        return json.dumps(self.encode_action(action), sort_keys=True, default=str)

    def action_text(self, action: A, state: S | None = None) -> str:
        """A short human-readable form of the action (prompts, tree viewer).

        `state` is the state the action is taken in, for games whose notation depends on it.
        """
        encoded = self.encode_action(action)
        return encoded if isinstance(encoded, str) else json.dumps(encoded, default=str)

    async def close(self) -> None:
        """Release live resources (browsers, containers). Called once when a run ends."""
