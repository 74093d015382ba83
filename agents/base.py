"""The contracts between a search controller and what decides (policies, evaluators, reflectors).

Agents never see a controller or its tree: an expansion hands them a `NodeView` (the task, the
trajectory so far, the siblings already tried, the lessons learnt), and they answer with
`Proposal`s or a value. Usage (LLM calls, tokens) is charged through the `UsageSink` in the view,
which the search wires to its budget and its trace.

One LLM call is one sampled completion: a request with n=4 is 4 calls. A sink with a ceiling
grants calls before a request is sent (`reserve`), takes back grants that were not used
(`release`), and records what was spent (`charge_llm`). `reserve_calls`/`release_calls` treat a
sink without `reserve` (user code) as one without a ceiling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from treeagent.environments.base import Environment, Step, Task


@dataclass(slots=True)
class Usage:
    """What one model request cost: the completions it returned (LLM calls) and their tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0
    completions: int = 1


class BudgetExhausted(RuntimeError):
    """The budget granted no LLM call for a request, so nothing was sent.

    Raised by `LLMClient.complete`; the search treats it as "out of budget" (an expansion does not
    happen, a value falls back to the environment's reward, a reflection is skipped)."""


class SearchStop(RuntimeError):
    """An agent error that no node can recover from (a model that does not exist, refused
    credentials, a server that does not answer): the search stops and raises it, instead of
    failing one node and going on with every other node failing the same way."""


class UsageSink(Protocol):
    """Where model calls are reserved and charged: the search's budget meter and trace implement this."""

    def reserve(self, n: int) -> int:
        """Grant up to n completions (0 when none are left); the grant counts toward the ceiling at once."""

    def release(self, n: int) -> None:
        """Give back n granted completions that were not made (a request that failed or returned fewer)."""

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        """Record what one request spent (`usage.completions` calls, its tokens), settling its grant,
        and (optionally) write its record to the trace."""


def reserve_calls(sink: Any, n: int) -> int:
    """`sink.reserve(n)`, or n for no sink or a sink without a ceiling (one with only `charge_llm`)."""
    if n <= 0:
        return 0
    reserve = getattr(sink, "reserve", None)
    return n if reserve is None else max(0, min(n, int(reserve(n))))


def release_calls(sink: Any, n: int) -> None:
    """`sink.release(n)` where the sink has one."""
    release = getattr(sink, "release", None)
    if n > 0 and release is not None:
        release(n)


class HeldCalls:
    """Calls already reserved from `sink`, spent through this sink (a `UsageSink` itself).

    An agent that must know how many calls it may make before it asks (k candidates as k
    requests, votes, keeping a call for a revision) reserves them once, then sends its requests
    through `HeldCalls(sink, granted)`; `close()` gives back what was not made.
    """

    __slots__ = ("left", "sink")

    def __init__(self, sink: Any, granted: int) -> None:
        self.sink = sink
        self.left = granted

    def reserve(self, n: int) -> int:
        got = max(0, min(n, self.left))
        self.left -= got
        return got

    def release(self, n: int) -> None:
        self.left += max(0, n)

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        if self.sink is not None:
            self.sink.charge_llm(usage, record)

    def close(self) -> None:
        release_calls(self.sink, self.left)
        self.left = 0


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
    #: asks the search's reflector for a lesson on this node, traced and restored on resume (a
    #: policy that reflects before it revises calls this); None outside a search with a reflector.
    reflect_source: Callable[[], Awaitable[str]] | None = None

    async def reflect(self) -> str:
        """The search's lesson on this node ('' when the search has no reflector or no call left);
        the lesson is added to the lessons later views carry."""
        return "" if self.reflect_source is None else await self.reflect_source()

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


@runtime_checkable
class OutputPolicy(Protocol):
    """A policy that can read a text as its own output without asking the model (a rollout with
    one token changed, say): the proposal it would have made from that reply."""

    def from_output(self, view: NodeView, text: str) -> Proposal: ...
