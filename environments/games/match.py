"""Match play between two players on an OpenSpiel game (what `treeagent play` runs).

A player chooses a move given the moves so far (`Player`); `play_match` alternates the seats,
keeps the score from the first player's side and hands each finished game's record to the caller.
The players themselves live elsewhere (those that need only a policy or a model in
agents/games/players.py, those that run a search controller in treeagent/players.py): nothing
here knows a controller or a model, so match play stays on the environment's side.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from treeagent.environments.base import Step
from treeagent.environments.games.notation import notation_for
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.environments.games.records import GameRecord, MoveRecord

__all__ = ["MatchResult", "Player", "PlayerStats", "play_game", "play_match", "score_interval"]


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
