"""Players that use the model: alone, as PUCT priors (and value) inside MCTS, or searching in context.

- `LLMPlayer`: the model alone; its own move, never an illegal one (see GameLLMPolicy).
- `PUCTPlayer`: treeagent's MCTS with PUCT selection; with `GameLLMPolicy` the model's priors
  guide the search ("llm-mcts", the paper's external search), with `UniformPolicy` it is the
  same search without the model ("uniform-mcts"). Leaves are scored by random rollouts, the
  model's value, or a weighted mix of both.
- `InternalSearchPlayer`: the model writes a linearised search tree and we read its choice.

Each keeps `last_info`, the statistics of its last move, which match records store per move.
"""

from __future__ import annotations

import math
import time
from typing import Any

from treeagent.agents.base import Evaluator, Policy
from treeagent.agents.games import GameLLMPolicy, GameLLMValue, InternalSearch
from treeagent.agents.heuristics import RandomRollout, UniformPolicy, Weighted
from treeagent.agents.llm_client import LLMClient
from treeagent.environments.base import Step
from treeagent.environments.games.notation import notation_for
from treeagent.environments.games.openspiel import OpenSpielEnv
from treeagent.games import PlayerStats, search_move
from treeagent.search import MCTS

__all__ = [
    "InternalSearchPlayer",
    "LLMPlayer",
    "PUCTPlayer",
    "llm_mcts_player",
    "score_interval",
    "uniform_mcts_player",
]


class LLMPlayer:
    """The model alone: one request per position (retried on an illegal reply, then the prior)."""

    def __init__(self, policy: GameLLMPolicy, name: str = "llm") -> None:
        self.name = name
        self.stats = PlayerStats()
        self.policy = policy
        self.last_info: dict[str, Any] = {}
        self.tokens = 0

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        started = time.perf_counter()
        action, prior = await self.policy.choose(env, step.state)
        self.stats.seconds += time.perf_counter() - started
        self.stats.moves += 1
        tokens = prior.prompt_tokens + prior.completion_tokens
        self.tokens += tokens
        self.last_info = {
            "source": "model" if prior.choice is not None else f"prior:{prior.source}",
            "prior_source": prior.source,
            "prior": round(prior.priors[action], 4),
            "illegal_replies": prior.illegal,
            "requests": prior.requests,
            "tokens": tokens,
        }
        return action


class PUCTPlayer:
    """treeagent's MCTS with PUCT selection from the policy's priors, run afresh from each position."""

    def __init__(
        self,
        policy: Policy,
        evaluator: Evaluator,
        *,
        simulations: int,
        name: str,
        exploration: float = 1.5,
        concurrency: int = 1,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.stats = PlayerStats()
        self.policy = policy
        self.evaluator = evaluator
        self.simulations = simulations
        self.exploration = exploration
        self.concurrency = concurrency
        self.seed = seed
        self.last_info: dict[str, Any] = {}
        self.tokens = 0
        self.llm_calls = 0

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        controller = MCTS(
            self.policy,
            self.evaluator,
            simulations=self.simulations,
            selection="puct",
            exploration=self.exploration,
            concurrency=self.concurrency,
            seed=self.seed + len(moves),
        )
        result, chosen = await search_move(controller, env, moves, self.stats)
        root_state = step.state
        tokens = result.stats.prompt_tokens + result.stats.completion_tokens
        self.tokens += tokens
        self.llm_calls += result.stats.llm_calls
        children = sorted(result.tree.root.children, key=lambda c: -c.visits)
        notation = notation_for(env.game_name)
        self.last_info = {
            "simulations": result.stats.simulations,
            "llm_calls": result.stats.llm_calls,
            "tokens": tokens,
            "value": round(chosen.mean_value, 4),
            "prior": round(chosen.prior, 4) if chosen.prior is not None else None,
            "visits": {notation.move_name(root_state, c.action): c.visits for c in children if c.visits},
            "priors": {
                notation.move_name(root_state, c.action): round(c.prior, 4) for c in children if c.prior is not None
            },
        }
        return int(chosen.action)


class InternalSearchPlayer:
    """The model's in-context search: one generation of at most `search.max_tokens` tokens per move."""

    def __init__(self, search: InternalSearch, name: str | None = None) -> None:
        self.name = name or f"internal({search.max_tokens} tok)"
        self.stats = PlayerStats()
        self.search = search
        self.last_info: dict[str, Any] = {}
        self.tokens = 0
        self.sources: dict[str, int] = {}

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        started = time.perf_counter()
        found = await self.search.choose(env, step.state)
        self.stats.seconds += time.perf_counter() - started
        self.stats.moves += 1
        tokens = found.prompt_tokens + found.completion_tokens
        self.tokens += tokens
        self.sources[found.source] = self.sources.get(found.source, 0) + 1
        self.last_info = {
            "source": found.source,
            "candidates": found.candidates,
            "tokens": tokens,
            "completion_tokens": found.completion_tokens,
            "search": found.text[:2000],
        }
        return found.action


def llm_mcts_player(
    llm: LLMClient,
    *,
    simulations: int,
    value_weight: float = 0.0,
    uniform_mix: float = 0.25,
    exploration: float = 1.5,
    concurrency: int = 4,
    rollouts: int = 1,
    seed: int = 0,
    policy: GameLLMPolicy | None = None,
) -> PUCTPlayer:
    """MCTS with the model's priors; leaves valued by rollouts, mixed with the model's value if
    `value_weight` > 0 (`Weighted((value, w), (rollouts, 1 - w))`)."""
    if not 0.0 <= value_weight <= 1.0:
        raise ValueError(f"value_weight must be in [0, 1], got {value_weight}")
    policy = policy or GameLLMPolicy(llm, uniform_mix=uniform_mix)
    rollout = RandomRollout(n=rollouts, seed=seed)
    evaluator: Evaluator
    if value_weight >= 1.0:
        evaluator = GameLLMValue(llm)
    elif value_weight > 0.0:
        evaluator = Weighted((GameLLMValue(llm), value_weight), (rollout, 1.0 - value_weight))
    else:
        evaluator = rollout
    return PUCTPlayer(
        policy,
        evaluator,
        simulations=simulations,
        name=f"llm-mcts({simulations})",
        exploration=exploration,
        concurrency=concurrency,
        seed=seed,
    )


def uniform_mcts_player(
    *, simulations: int, exploration: float = 1.5, rollouts: int = 1, seed: int = 0, concurrency: int = 1
) -> PUCTPlayer:
    """The same PUCT search and rollouts as `llm_mcts_player`, with uniform priors (no model)."""
    return PUCTPlayer(
        UniformPolicy(),
        RandomRollout(n=rollouts, seed=seed),
        simulations=simulations,
        name=f"uniform-mcts({simulations})",
        exploration=exploration,
        concurrency=concurrency,
        seed=seed,
    )


def score_interval(wins: int, draws: int, losses: int, z: float = 1.96) -> tuple[float, float, float]:
    """(score, low, high): score = (wins + draws/2) / games with a Wilson interval (95% by default).

    Draws count as half a win in the proportion; with few games the interval is wide, as it should be.
    """
    games = wins + draws + losses
    if games == 0:
        return 0.0, 0.0, 1.0
    score = (wins + 0.5 * draws) / games
    denom = 1.0 + z * z / games
    centre = (score + z * z / (2 * games)) / denom
    half = z * math.sqrt(score * (1.0 - score) / games + z * z / (4 * games * games)) / denom
    return score, max(0.0, centre - half), min(1.0, centre + half)
