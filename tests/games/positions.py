"""Known positions with exactly one winning move, for tests of the search controllers.

Each is a move list from the start position (OpenSpiel action ids; one is written as move text)
and the one move that wins for the player to move. `plies` is how soon the win comes with best
play: 1 = the move wins at once, 3 = the move, any reply, then a winning move.
test_positions.py checks every claim by brute force with pyspiel itself:
tic_tac_toe positions by solving the game exactly (every other move draws or loses);
connect_four positions by exhaustive search 5 plies deep (no other move forces a win within
5 plies, and a 3-ply position has no win in 1). Use them with
`OpenSpielEnv(p.game)` and `game_task(p.game, p.moves)`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownPosition:
    name: str
    game: str
    moves: tuple[int | str, ...]
    to_play: int
    winning_move: int
    plies: int


TIC_TAC_TOE_WIN_IN_1 = (
    # xo. / .o? : x completes the bottom row at 8, which also blocks o's diagonal.
    KnownPosition("ttt-row-block", "tic_tac_toe", (7, 1, 5, 0, 6, 4), 0, 8, 1),
    # o.x / .x. / ox. : o completes the left column at 3 (x threatens 1). Written as move text.
    KnownPosition("ttt-column-text", "tic_tac_toe", ("x(0,2)", "o(0,0)", "x(1,1)", "o(2,0)", "x(2,1)"), 1, 3, 1),
    # xo. / .ox / x.. : o completes the middle column at 7 (x threatens 3).
    KnownPosition("ttt-middle-column", "tic_tac_toe", (5, 4, 6, 1, 0), 1, 7, 1),
)

TIC_TAC_TOE_WIN_IN_3 = (
    # A fork: the move makes two threats at once.
    KnownPosition("ttt-fork-o", "tic_tac_toe", (0, 2, 3, 7, 1), 1, 6, 3),
    KnownPosition("ttt-fork-x", "tic_tac_toe", (0, 7, 5, 6), 0, 8, 3),
)

CONNECT_FOUR_WIN_IN_1 = (
    KnownPosition("c4-vertical-o", "connect_four", (6, 5, 0, 0, 6, 0, 3, 0, 6), 1, 0, 1),
    KnownPosition("c4-midgame-x", "connect_four", (0, 0, 0, 5, 4, 0, 3, 5, 1, 3, 5, 0, 4, 1, 6, 3, 3, 4), 0, 2, 1),
    KnownPosition("c4-crowded-o", "connect_four", (6, 4, 6, 5, 3, 1, 4, 4, 6, 0, 2, 0, 3, 0, 3), 1, 0, 1),
)

CONNECT_FOUR_WIN_IN_3 = (
    KnownPosition("c4-threat-pair-a", "connect_four", (5, 4, 4, 0, 1, 6, 3, 1, 2, 1, 5, 5), 0, 3, 3),
    KnownPosition("c4-threat-pair-b", "connect_four", (0, 4, 4, 0, 0, 2, 2, 2, 6, 4, 0), 1, 3, 3),
    KnownPosition(
        "c4-threat-pair-c",
        "connect_four",
        (4, 1, 1, 6, 5, 6, 5, 0, 4, 1, 3, 5, 1, 2, 4, 4, 5, 5),
        0,
        3,
        3,
    ),
)

ALL_POSITIONS = TIC_TAC_TOE_WIN_IN_1 + TIC_TAC_TOE_WIN_IN_3 + CONNECT_FOUR_WIN_IN_1 + CONNECT_FOUR_WIN_IN_3
