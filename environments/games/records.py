"""Game records: every move with its search statistics, as JSONL (all games) and PGN (chess).

The data format of a played game (`match.play_match` fills one per game); it knows players only by
name, so it needs nothing beyond the game's notation and, to read PGN, OpenSpiel's chess.

One `GameRecord` per game, one JSON object per line. Chess games also go to PGN (python-chess
writes it), with the search statistics of each move as a comment; `from_pgn` reads a PGN game
back into a record (moves mapped to OpenSpiel's action ids through the SAN names).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from treeagent.environments.games.notation import WHITE

__all__ = ["GameRecord", "MoveRecord", "from_pgn", "read_jsonl", "to_pgn", "write_jsonl"]


class MoveRecord(BaseModel):
    """One move: who played it, OpenSpiel's action id, its name, and the player's search stats."""

    seat: int
    action: int
    text: str
    info: dict[str, Any] = Field(default_factory=dict)


class GameRecord(BaseModel):
    """One finished game. `players[i]` sat in seat i; `returns[i]` is seat i's result in [-1, 1]."""

    game: str
    params: dict[str, Any] = Field(default_factory=dict)
    players: list[str]
    moves: list[MoveRecord] = Field(default_factory=list)
    returns: list[float] = Field(default_factory=list)
    index: int = 0
    seconds: float = 0.0

    @property
    def actions(self) -> list[int]:
        return [m.action for m in self.moves]

    def result_text(self, first: int = 0) -> str:
        """A result tag from seat `first`'s side: 1-0, 0-1, 1/2-1/2, or * for an unfinished game.
        (PGN's is from White's side: seat 1 in OpenSpiel's chess.)"""
        if not self.returns:
            return "*"
        mine, theirs = self.returns[first], self.returns[1 - first]
        if mine > theirs:
            return "1-0"
        if mine < theirs:
            return "0-1"
        return "1/2-1/2"


def write_jsonl(path: str | Path, record: GameRecord) -> None:
    """Append one game to a JSONL file (flushed at once: a killed match keeps its finished games)."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(record.model_dump_json() + "\n")


def read_jsonl(path: str | Path) -> Iterator[GameRecord]:
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            if line.strip():
                try:
                    yield GameRecord.model_validate_json(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a game record ({exc})") from None


def _comment(info: dict[str, Any]) -> str:
    """Scalar stats as `key=value` words (PGN comments may not hold braces, so not JSON)."""
    return " ".join(f"{key}={value}" for key, value in sorted(info.items()) if _word(value))


def _word(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(value) and not any(c in value for c in " {}=")


def _stats(comment: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for word in comment.split():
        key, sep, value = word.partition("=")
        if not sep:
            continue
        try:
            info[key] = json.loads(value)
        except ValueError:
            info[key] = value
    return info


def to_pgn(record: GameRecord, event: str = "treeagent play") -> str:
    """A chess record as PGN text, each move's scalar search stats as its comment."""
    import chess
    import chess.pgn

    if record.game != "chess":
        raise ValueError(f"PGN is for chess; this record is {record.game!r} (write it as JSONL)")
    game = chess.pgn.Game()
    game.headers["Event"] = event
    game.headers["Round"] = str(record.index + 1)
    game.headers["White"], game.headers["Black"] = record.players[WHITE], record.players[1 - WHITE]
    game.headers["Result"] = record.result_text(WHITE)
    node: chess.pgn.GameNode = game
    board = chess.Board()
    for move in record.moves:
        parsed = board.parse_san(move.text)
        node = node.add_variation(parsed)
        comment = _comment(move.info)
        if comment:
            node.comment = comment
        board.push(parsed)
    return str(game) + "\n"


def from_pgn(text: str) -> list[GameRecord]:
    """Every game in PGN text as records (OpenSpiel action ids found from the SAN of each move)."""
    import chess.pgn

    from treeagent.environments.games.openspiel import OpenSpielEnv

    env = OpenSpielEnv("chess")
    records = []
    source = io.StringIO(text)
    while (game := chess.pgn.read_game(source)) is not None:
        if game.errors:
            raise ValueError(f"bad PGN: {game.errors[0]}")
        state = env.game.new_initial_state()
        board = game.board()
        moves = []
        for node in game.mainline():
            san = board.san(node.move)
            action = env.parse_action(state, san)
            info = _stats(node.comment)
            moves.append(MoveRecord(seat=state.current_player(), action=action, text=san, info=info))
            state.apply_action(action)
            board.push(node.move)
        result = game.headers.get("Result", "*")
        white = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}.get(result)
        returns = [] if white is None else [-white, white] if WHITE == 1 else [white, -white]
        records.append(
            GameRecord(
                game="chess",
                players=_seats(game.headers.get("White", "?"), game.headers.get("Black", "?")),
                moves=moves,
                returns=returns,
                index=_round(game.headers.get("Round", "")),
            )
        )
    return records


def _seats(white: str, black: str) -> list[str]:
    return [black, white] if WHITE == 1 else [white, black]


def _round(text: str) -> int:
    return int(text) - 1 if text.isdigit() and int(text) > 0 else 0


def pgn_all(records: Iterable[GameRecord]) -> str:
    return "\n".join(to_pgn(r) for r in records)
