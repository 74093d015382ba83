"""Game environments: OpenSpiel games and the Game of 24; match play (`match`) and game records
(`records`) for the OpenSpiel games, imported by their module names.

The Game of 24 needs nothing beyond the standard library. The OpenSpiel names are imported on
first use, so this package loads without the `[games]` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from treeagent.environments.games.arith import Combine, ParseError, check_answer, parse_combine
from treeagent.environments.games.game24 import Game24Env, Game24State, game24_task
from treeagent.environments.games.solve24 import (
    KNOWN_UNSOLVABLE,
    count_solutions,
    difficulty,
    generate_puzzles,
    solve24,
    solve24_steps,
    solve_rate,
)

if TYPE_CHECKING:
    from treeagent.environments.games.openspiel import GameError, OpenSpielEnv, game_task, known_games

_OPENSPIEL = {"GameError", "OpenSpielEnv", "game_task", "known_games"}

__all__ = [
    "KNOWN_UNSOLVABLE",
    "Combine",
    "Game24Env",
    "Game24State",
    "GameError",
    "OpenSpielEnv",
    "ParseError",
    "check_answer",
    "count_solutions",
    "difficulty",
    "game24_task",
    "game_task",
    "generate_puzzles",
    "known_games",
    "parse_combine",
    "solve24",
    "solve24_steps",
    "solve_rate",
]


def __getattr__(name: str) -> Any:
    if name in _OPENSPIEL:
        try:
            from treeagent.environments.games import openspiel
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(f"{name} needs OpenSpiel: pip install 'treeagent[games]' ({exc})") from exc
        return getattr(openspiel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
