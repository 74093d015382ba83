"""Move notation and board text per game, for prompting a model and reading its moves back.

A model reads a position best in the notation players of that game use: columns 1-7 in Connect
Four, squares 1-9 in tic-tac-toe, "c3" cells in Hex, SAN ("Nf3") with a diagram and FEN in chess.
Each `Notation` names every legal move of a state in that notation, maps a name back to
OpenSpiel's action id, and finds a legal move in free model text (`find`), so a reply like
"I play column 4." is read as 4 and a reply that names no legal move is recognised as such.
Games without a notation of their own here use OpenSpiel's action strings.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "WHITE",
    "ChessNotation",
    "ConnectFourNotation",
    "HexNotation",
    "Notation",
    "TicTacToeNotation",
    "notation_for",
]

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+#=\-()/,]*")


class Notation:
    """OpenSpiel's own action strings, without the player prefix where one is used."""

    title = "a board game"
    #: one line on how to read the board text, shown above it.
    board_help = ""
    #: how a move is written, for the prompt.
    move_help = "moves are written as listed"

    def __init__(self, game: str) -> None:
        self.game = game
        self.title = game.replace("_", " ")

    # -- what the prompt shows ----------------------------------------------------------------
    def board(self, state: Any) -> str:
        return str(state).rstrip()

    #: whether move names differ by case alone (SAN: "b4" is a pawn, "B4" no move)
    case_sensitive = False

    def player_name(self, player: int) -> str:
        """A player as the game names them ("x", "White")."""
        return f"player {player}"

    def side(self, state: Any) -> str:
        """The player to move, as the game names them."""
        return self.player_name(state.current_player())

    def move_name(self, state: Any, action: int) -> str:
        return str(state.action_to_string(state.current_player(), action))

    def move_names(self, state: Any) -> dict[str, int]:
        """Every legal move's name in this notation, mapped to its action id (in OpenSpiel's order)."""
        return {self.move_name(state, a): a for a in state.legal_actions()}

    # -- reading a model's reply ----------------------------------------------------------------
    def parse(self, state: Any, text: str) -> int | None:
        """The legal action `text` names exactly (case and surrounding space ignored), else None."""
        wanted = self._fold(text)
        for name, action in self.move_names(state).items():
            if self._fold(name) == wanted:
                return action
        return None

    def find(self, state: Any, text: str) -> int | None:
        """The first legal move named anywhere in free text (whole words only), else None."""
        exact = self.parse(state, text)
        if exact is not None:
            return exact
        names = {self._fold(n): a for n, a in self.move_names(state).items()}
        for match in _WORD.finditer(text):
            word = self._fold(match.group(0).rstrip(".,;:!?)"))
            if word in names:
                return names[word]
        return None

    @staticmethod
    def _fold(text: str) -> str:
        return text.strip().strip("`'\"*").strip().lower()


class ConnectFourNotation(Notation):
    """Columns numbered 1-7 from the left; the bottom row is the board's last line."""

    board_help = "x moves first; pieces fall to the lowest empty cell; the last line is the bottom row."
    move_help = "a move is the number of the column to drop a piece in (1 = leftmost)"

    def __init__(self, game: str = "connect_four") -> None:
        super().__init__(game)
        self.title = "Connect Four"

    def board(self, state: Any) -> str:
        rows = str(state).rstrip().splitlines()
        width = len(rows[0]) if rows else 7
        return "\n".join([*rows, "".join(str(i + 1) for i in range(width))])

    def player_name(self, player: int) -> str:
        return "x" if player == 0 else "o"

    def move_name(self, state: Any, action: int) -> str:
        return str(action + 1)


class TicTacToeNotation(Notation):
    """Squares numbered 1-9, row by row from the top left (a phone keypad's order)."""

    board_help = "x moves first; squares are numbered 1-9 row by row from the top left, as in the key."
    move_help = "a move is the number of an empty square"

    def __init__(self, game: str = "tic_tac_toe") -> None:
        super().__init__(game)
        self.title = "Tic-tac-toe"

    def board(self, state: Any) -> str:
        rows = str(state).rstrip().splitlines()
        key = ["123", "456", "789"]
        return "\n".join(f"{row}   {k}" for row, k in zip(rows, key, strict=False))

    def player_name(self, player: int) -> str:
        return "x" if player == 0 else "o"

    def move_name(self, state: Any, action: int) -> str:
        return str(action + 1)


class HexNotation(Notation):
    """Cells as column letter and row number ("c3"), OpenSpiel's and Hex players' notation."""

    board_help = "x (first) joins top and bottom, o joins left and right; columns a, b, ... rows 1, 2, ..."
    move_help = "a move is a cell: its column letter then its row number, e.g. c3"

    def __init__(self, game: str = "hex") -> None:
        super().__init__(game)
        self.title = "Hex"

    def board(self, state: Any) -> str:
        """OpenSpiel's rhombus with the column letters above it and each row's number before it."""
        rows = [row.rstrip() for row in str(state).rstrip("\n").splitlines()]
        width = len(rows[0].split()) if rows else 0
        header = "   " + " ".join(chr(ord("a") + i) for i in range(width))
        return "\n".join([header, *(f"{i + 1:>2} {row}" for i, row in enumerate(rows))])

    def player_name(self, player: int) -> str:
        return "x" if player == 0 else "o"


#: OpenSpiel's chess seats Black as player 0 and White, who moves first, as player 1.
WHITE = 1


class ChessNotation(Notation):
    """Standard algebraic notation (SAN: "e4", "Nf3", "O-O"), a diagram and the FEN."""

    board_help = "uppercase pieces are White's, lowercase Black's; rank 8 is the first line."
    move_help = "a move is written in standard algebraic notation (SAN), e.g. e4, Nf3, O-O, exd5"

    def __init__(self, game: str = "chess") -> None:
        super().__init__(game)
        self.title = "Chess"

    def board(self, state: Any) -> str:
        import chess

        fen = str(state)
        return f"{chess.Board(fen)}\nFEN: {fen}"

    case_sensitive = True

    def player_name(self, player: int) -> str:
        return "White" if player == WHITE else "Black"

    @staticmethod
    def _fold(text: str) -> str:
        # SAN is case-sensitive (b4 is a pawn move, B4 is not a square); only '+', '#' and '!?' are optional.
        return text.strip().strip("`'\"*").strip().rstrip("+#!?")

    def parse(self, state: Any, text: str) -> int | None:
        wanted = self._fold(text)
        for name, action in self.move_names(state).items():
            if self._fold(name) == wanted:
                return action
        return None


_NOTATIONS: dict[str, type[Notation]] = {
    "connect_four": ConnectFourNotation,
    "tic_tac_toe": TicTacToeNotation,
    "hex": HexNotation,
    "chess": ChessNotation,
}


def notation_for(game: str) -> Notation:
    """The notation for an OpenSpiel game name (its own where known, OpenSpiel's strings otherwise)."""
    kind = _NOTATIONS.get(game)
    return kind(game) if kind is not None else Notation(game)
