"""Game players that run treeagent's MCTS: recipes wiring a controller to a policy and an evaluator.

They live in treeagent/ because they join all three layers: a controller from search/, a policy
(uniform, or the model's priors) and an evaluator from agents/, and the OpenSpiel environment and
its task. `treeagent.registry.PLAYERS` names them next to the players that need no controller
(`treeagent.agents.games.players`); match play is `treeagent.environments.games.match`.

- `MCTSPlayer`: UCT with a uniform policy and random rollouts (OpenSpiel's own setup).
- `PUCTPlayer`: PUCT selection; with `GameLLMPolicy` the model's priors guide the search
  ("llm-mcts", the paper's external search), with `UniformPolicy` it is the same search without
  the model ("uniform-mcts"). Leaves are scored by random rollouts, the model's value, or a
  weighted mix of both.

Each runs a fresh search from the current position (a task that replays the moves) and keeps
`last_info`, the statistics of its last move, which match records store per move.
"""

from __future__ import annotations

import time
from typing import Any

from treeagent.agents.base import Evaluator, Policy
from treeagent.agents.games import GameLLMPolicy, GameLLMValue
from treeagent.agents.heuristics import RandomRollout, UniformPolicy, Weighted
from treeagent.agents.llm.client import LLMClient
from treeagent.environments.base import Step
from treeagent.environments.games.match import PlayerStats
from treeagent.environments.games.notation import notation_for
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.search import MCTS, SearchResult, best_child
from treeagent.search.node import Node

__all__ = ["MCTSPlayer", "PUCTPlayer", "llm_mcts_player", "search_move", "uniform_mcts_player"]


async def search_move(
    controller: MCTS, env: OpenSpielEnv, moves: list[int], stats: PlayerStats
) -> tuple[SearchResult, Node]:
    """One move by a fresh search from the position after `moves`: the result and the child chosen
    (the most visited); the player's stats are charged with it."""
    started = time.perf_counter()
    result = await controller.run(env, game_task(env.game_name, moves, env.params))
    stats.seconds += time.perf_counter() - started
    stats.simulations += result.stats.simulations
    stats.moves += 1
    return result, best_child(result.tree.root)


class MCTSPlayer:
    """treeagent's MCTS with a uniform policy and one random rollout per leaf (OpenSpiel's setup)."""

    def __init__(
        self, simulations: int = 400, exploration: float = 1.414, seed: int = 0, concurrency: int = 1, rollouts: int = 1
    ) -> None:
        self.name = f"treeagent-mcts({simulations})"
        self.stats = PlayerStats()
        self.simulations = simulations
        self.exploration = exploration
        self.concurrency = concurrency
        self._evaluator = RandomRollout(n=rollouts, seed=seed)
        self._seed = seed
        #: the statistics of the last move (game records keep them)
        self.last_info: dict[str, Any] = {}

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        controller = MCTS(
            UniformPolicy(),
            self._evaluator,
            simulations=self.simulations,
            exploration=self.exploration,
            concurrency=self.concurrency,
            seed=self._seed + len(moves),
        )
        result, chosen = await search_move(controller, env, moves, self.stats)
        self.last_info = {
            "simulations": result.stats.simulations,
            "visits": chosen.visits,
            "value": round(chosen.mean_value, 4),
            "proven": chosen.proven,
        }
        return int(chosen.action)


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
