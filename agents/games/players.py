"""Game players that need no search controller: random moves, the model alone, the model's
in-context search, and OpenSpiel's own MCTS bot as the reference opponent.

Each follows `treeagent.environments.games.match.Player` and keeps `last_info`, the statistics of
its last move, which match records store per move. The players that run treeagent's MCTS wire a
controller to a policy, so they are recipes in treeagent/players.py, not part of agents/.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from treeagent.agents.games.internal import InternalSearch
from treeagent.agents.games.policy import GameLLMPolicy
from treeagent.environments.base import Step
from treeagent.environments.games.match import PlayerStats
from treeagent.environments.games.openspiel import OpenSpielEnv

__all__ = ["InternalSearchPlayer", "LLMPlayer", "OpenSpielMCTSPlayer", "RandomPlayer"]


class RandomPlayer:
    """Uniformly random legal moves."""

    def __init__(self, seed: int = 0) -> None:
        self.name = "random"
        self.stats = PlayerStats()
        self._rng = random.Random(seed)

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        self.stats.moves += 1
        return self._rng.choice(env.legal_actions(step.state))


class OpenSpielMCTSPlayer:
    """OpenSpiel's Python `MCTSBot` with its random-rollout evaluator (the reference to beat), run
    in a worker thread so the event loop never blocks."""

    def __init__(self, simulations: int = 400, exploration: float = 1.414, seed: int = 0) -> None:
        import numpy as np
        from open_spiel.python.algorithms import mcts as os_mcts

        self.name = f"openspiel-mcts({simulations})"
        self.stats = PlayerStats()
        self.simulations = simulations
        self._rng = np.random.RandomState(seed)
        self._make = lambda game: os_mcts.MCTSBot(
            game,
            exploration,
            simulations,
            os_mcts.RandomRolloutEvaluator(1, self._rng),
            random_state=self._rng,
            solve=True,
        )
        self._bots: dict[int, Any] = {}
        self.last_info: dict[str, Any] = {}

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        bot = self._bots.get(id(env.game))
        if bot is None:
            bot = self._bots[id(env.game)] = self._make(env.game)
        started = time.perf_counter()
        action = await asyncio.to_thread(bot.step, step.state.clone())
        seconds = time.perf_counter() - started
        self.stats.seconds += seconds
        self.stats.simulations += self.simulations
        self.stats.moves += 1
        self.last_info = {"simulations": self.simulations, "seconds": round(seconds, 4)}
        return int(action)


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
