"""The contracts between a search controller and what decides (policies, evaluators, reflectors).

Agents never see a controller or its tree: an expansion hands them a `NodeView` (the task, the
trajectory so far, the siblings already tried, the lessons learnt), and they answer with
`Proposal`s or a value. Usage (LLM calls, tokens) is charged through the `UsageSink` in the view,
which the search wires to its budget and its trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from treeagent.environments.base import Environment, Step, Task


@dataclass(slots=True)
class Usage:
    """What one model call cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0


class UsageSink(Protocol):
    """Where model calls are charged: the search's budget meter and trace implement this."""

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        """Count one model call and (optionally) write its record to the trace."""


@dataclass(slots=True)
class TrajectoryStep:
    """One (action, resulting observation) pair on the path from the root to a node."""

    action: Any
    action_text: str
    observation: str
    reward: float = 0.0


@dataclass(slots=True)
class NodeView:
    """What an agent may see of a node when expanding or evaluating it."""

    task: Task
    env: Environment[Any, Any]
    step: Step[Any]
    depth: int
    #: the path from the root, or a function that builds it (built once, on first use: the hot
    #: loop of a game search never pays for it).
    trajectory_source: Sequence[TrajectoryStep] | Callable[[], Sequence[TrajectoryStep]] = ()
    #: the player who made the move into this node (None at the root); values are from their side.
    mover: int | None = None
    #: actions already proposed at this node (DFSDT's diversity prompt shows them to the model).
    tried: Sequence[Any] = ()
    #: lessons from failed trajectories (LATS / Reflexion), newest last.
    lessons: Sequence[str] = ()
    usage: UsageSink | None = None
    #: a seed for this node's randomness, derived from the search seed and the node's place in the
    #: tree: the same node gets the same seed when a search is re-run or resumed.
    seed: int = 0

    @property
    def state(self) -> Any:
        return self.step.state

    @property
    def trajectory(self) -> Sequence[TrajectoryStep]:
        source = self.trajectory_source
        if callable(source):
            source = source()
            self.trajectory_source = source
        return source


@dataclass(slots=True)
class Proposal:
    """One candidate action from a policy.

    prior: the policy's probability for the action (PUCT), None when it has none.
    give_up: the policy abandons this branch (DFSDT's give_up_and_restart); no action is applied.
    error: the reply could not be turned into an action; the controller makes a failed child.
    text: the policy's raw output (a model's reply), kept in the trace; nodes show the action
        through `Environment.action_text`, not this.
    """

    action: Any = None
    prior: float | None = None
    give_up: bool = False
    error: str | None = None
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Policy(Protocol):
    """Proposes up to `k` candidate actions for a node."""

    async def propose(self, view: NodeView, k: int) -> list[Proposal]: ...


@runtime_checkable
class Evaluator(Protocol):
    """Scores a node in [0, 1] from the side of `view.mover` (1 = solved / won)."""

    async def value(self, view: NodeView) -> float: ...


@runtime_checkable
class Reflector(Protocol):
    """Turns a failed trajectory into a short lesson that later prompts include."""

    async def reflect(self, view: NodeView) -> str: ...


@runtime_checkable
class PrefixPolicy(Protocol):
    """A policy that can continue a given start of its own output (token-level search): one
    rollout from `prefix`, with the continuation's tokens in `Proposal.meta["steps"]` as
    (token, logprob, {alternative: logprob}) triples: the token tree reads its priors there."""

    async def continue_from(self, view: NodeView, prefix: str, *, temperature: float = 0.0) -> Proposal: ...
