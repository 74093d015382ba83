"""Playing board games with search: players and matches (what `treeagent play` runs).

A player chooses a move given the moves so far. `MCTSPlayer` runs treeagent's MCTS controller
from the current position (a task that replays the moves); `RandomPlayer` and
`OpenSpielMCTSPlayer` (OpenSpiel's own Python MCTS bot, run in a worker thread so the event loop
never blocks) are the opponents to measure it against.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.base import Step
from treeagent.environments.games.notation import notation_for
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.game_records import GameRecord, MoveRecord
from treeagent.search import MCTS, SearchResult, best_child
from treeagent.search.node import Node


@dataclass
class PlayerStats:
    moves: int = 0
    simulations: int = 0
    seconds: float = 0.0

    @property
    def simulations_per_s(self) -> float:
        return self.simulations / self.seconds if self.seconds else 0.0


class Player(Protocol):
    name: str
    stats: PlayerStats

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int: ...


class RandomPlayer:
    """Uniformly random legal moves."""

    def __init__(self, seed: int = 0) -> None:
        self.name = "random"
        self.stats = PlayerStats()
        self._rng = random.Random(seed)

    async def choose(self, env: OpenSpielEnv, moves: list[int], step: Step[Any]) -> int:
        self.stats.moves += 1
        return self._rng.choice(env.legal_actions(step.state))


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


class OpenSpielMCTSPlayer:
    """OpenSpiel's Python `MCTSBot` with its random-rollout evaluator (the reference to beat)."""

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


@dataclass
class MatchResult:
    """Outcomes from player A's side."""

    game: str
    player_a: str
    player_b: str
    wins: int = 0
    draws: int = 0
    losses: int = 0
    returns: list[float] = field(default_factory=list)

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


async def play_game(
    env: OpenSpielEnv, players: tuple[Player, Player], record: GameRecord | None = None
) -> tuple[float, ...]:
    """One game from the start; players[i] plays seat i. Returns each seat's return.

    With a `record`, each move is appended to it with its name in the game's notation and the
    player's `last_info` (search statistics), if the player keeps one.
    """
    moves: list[int] = []
    step = await env.reset(game_task(env.game_name, (), env.params))
    notation = notation_for(env.game_name) if record is not None else None
    while not step.terminal:
        seat = step.to_play
        assert seat is not None
        action = await players[seat].choose(env, moves, step)
        if record is not None and notation is not None:
            info = getattr(players[seat], "last_info", None)
            text = notation.move_name(step.state, action)
            record.moves.append(MoveRecord(seat=seat, action=action, text=text, info=dict(info or {})))
        moves.append(action)
        step = env.step_now(step.state, action)
    assert step.returns is not None
    if record is not None:
        record.returns = list(step.returns)
    return step.returns


async def play_match(
    game: str,
    player_a: Player,
    player_b: Player,
    games: int,
    on_game: Callable[[MatchResult], None] | None = None,
    on_record: Callable[[GameRecord], None] | None = None,
) -> MatchResult:
    """`games` games of A against B, A taking the first seat in even games and the second in odd ones.

    `on_record` receives each finished game's record (moves, their names, search statistics).
    """
    env = OpenSpielEnv(game)
    if env.capabilities.players != 2:
        raise ValueError(f"{game} is a {env.capabilities.players}-player game; play needs a two-player game")
    result = MatchResult(game, player_a.name, player_b.name)
    for index in range(games):
        seat_a = index % 2
        seats = (player_a, player_b) if seat_a == 0 else (player_b, player_a)
        record = None
        if on_record is not None:
            record = GameRecord(game=game, players=[p.name for p in seats], index=index)
        started = time.perf_counter()
        returns = await play_game(env, seats, record)
        if record is not None and on_record is not None:
            record.seconds = round(time.perf_counter() - started, 3)
            on_record(record)
        mine = returns[seat_a]
        result.returns.append(mine)
        if mine > 0:
            result.wins += 1
        elif mine < 0:
            result.losses += 1
        else:
            result.draws += 1
        if on_game is not None:
            on_game(result)
    return result
