"""Policies and evaluators that need no model: real components for games and controller tests.

- `UniformPolicy`: k distinct legal actions, uniformly at random (all of them when k covers them),
  each with a uniform prior; it skips actions already tried at the node (DFSDT's diversity).
- `RandomRollout`: plays uniformly random legal moves to the end, n times; the mean outcome from
  the side of the node's mover is the value (OpenSpiel's RandomRolloutEvaluator, for any env).
- `EnvReward`: the environment's own reward of the node's step.
- `Weighted`: a weighted mean of evaluators (e.g. an LLM's score with the public-test pass rate).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

from treeagent.agents.base import Evaluator, NodeView, Proposal, SearchStop
from treeagent.environments.base import Environment, Step


class NoLegalActionsError(ValueError, SearchStop):
    """A non-LLM policy was used on an environment with an open action space: every node would fail
    the same way, so the search stops."""


class UniformPolicy:
    """Proposes up to k distinct legal actions, chosen uniformly at random."""

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        legal = view.env.legal_actions(view.state)
        if legal is None:
            raise NoLegalActionsError(
                f"{type(view.env).__name__} has no finite action list (legal_actions returned None); "
                "UniformPolicy needs one: use an LLM policy for this environment"
            )
        if view.tried:
            env = view.env
            tried = {env.action_key(a) for a in view.tried}
            legal = [a for a in legal if env.action_key(a) not in tried]
        if not legal:
            return []
        if k < len(legal):
            legal = random.Random(view.seed).sample(legal, k)
        prior = 1.0 / len(legal)
        return [Proposal(action=a, prior=prior) for a in legal]


class ScriptedPolicy:
    """Proposes a fixed list of actions at each depth: a deterministic stand-in for a model.

    `script[d]` lists the actions to propose at depth d (the first k of those not yet tried).
    A `"give_up"` entry proposes giving up on the branch (DFSDT); `"error:<text>"` an unparseable reply.
    """

    def __init__(self, script: Sequence[Sequence[Any]]) -> None:
        self.script = [list(level) for level in script]
        self.calls = 0

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        self.calls += 1
        if view.depth >= len(self.script):
            return []
        env = view.env
        tried = {env.action_key(a) for a in view.tried}
        out: list[Proposal] = []
        for action in self.script[view.depth]:
            if isinstance(action, str) and action == "give_up":
                out.append(Proposal(give_up=True, text="give up"))
            elif isinstance(action, str) and action.startswith("error:"):
                out.append(Proposal(error=action[6:], text=action))
            elif env.action_key(action) not in tried:
                out.append(Proposal(action=action))
            if len(out) >= k:
                break
        return out


class EnvReward:
    """The environment's reward of the node's step, clamped to [0, 1]."""

    async def value(self, view: NodeView) -> float:
        return min(1.0, max(0.0, view.step.reward))


class RandomRollout:
    """Mean outcome of `n` uniformly random playouts from the node, from the mover's side.

    Uses the environment's synchronous `advance` when it has one (games), so a rollout costs no
    event-loop round trips. Playouts longer than `max_steps` count as 0.5 (undecided).
    """

    def __init__(self, n: int = 1, max_steps: int = 1000, seed: int = 0) -> None:
        if n < 1:
            raise ValueError(f"n (rollouts per evaluation) must be at least 1, got {n}")
        self.n = n
        self.max_steps = max_steps
        self._rng = random.Random(seed)

    async def value(self, view: NodeView) -> float:
        env = view.env
        mover = view.mover or 0
        total = 0.0
        sync = env.capabilities.cheap_clone
        for _ in range(self.n):
            if sync:
                total += self._playout_now(env, view.step, mover)
            else:
                total += await self._playout(env, view.step, mover)
        return total / self.n

    def _playout_now(self, env: Environment[Any, Any], step: Step[Any], mover: int) -> float:
        rand = self._rng.random
        advance = env.advance
        legal_actions = env.legal_actions
        for _ in range(self.max_steps):
            if step.terminal:
                return _outcome(step, mover)
            legal = legal_actions(step.state)
            if not legal:
                return 0.5 if step.returns is not None else 0.0
            step = advance(step.state, legal[int(rand() * len(legal))])
        return _outcome(step, mover) if step.terminal else 0.5

    async def _playout(self, env: Environment[Any, Any], step: Step[Any], mover: int) -> float:
        for _ in range(self.max_steps):
            if step.terminal:
                return _outcome(step, mover)
            legal = env.legal_actions(step.state)
            if not legal:
                return 0.0
            step = await env.step(step.state, legal[int(self._rng.random() * len(legal))])
        return _outcome(step, mover) if step.terminal else 0.5


def _outcome(step: Step[Any], mover: int) -> float:
    if step.returns is not None:
        return min(1.0, max(0.0, (step.returns[mover] + 1.0) / 2.0))
    return min(1.0, max(0.0, step.reward))


class Weighted:
    """A weighted mean of evaluators, run concurrently: `Weighted((llm_eval, 0.5), (pass_rate, 0.5))`."""

    def __init__(self, *parts: tuple[Evaluator, float]) -> None:
        if not parts:
            raise ValueError("Weighted needs at least one (evaluator, weight) pair")
        if any(w < 0 for _, w in parts) or sum(w for _, w in parts) <= 0:
            raise ValueError("Weighted needs non-negative weights with a positive sum")
        self.parts = parts
        self._total = sum(w for _, w in parts)

    async def value(self, view: NodeView) -> float:
        values = await asyncio.gather(*(ev.value(view) for ev, _ in self.parts))
        return sum(v * w for v, (_, w) in zip(values, self.parts, strict=True)) / self._total
