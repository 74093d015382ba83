"""Prompts for playing a board game: a position as text, one example exchange, the question last.

A position is shown as the game's players write it (see environments/games/notation.py): the
board with a line on how to read it, the side to move, and every legal move in the game's
notation. The move prompt carries one worked exchange (the opening position and a legal reply)
so that even a small model answers with a move name first, which is what lets the first
tokens' log-probabilities be read as a distribution over moves. System text and the example come
first and are the same for every position of a game, so the engine's prefix cache reuses them.
"""

from __future__ import annotations

from typing import Any

from treeagent.environments.games.notation import Notation

Message = dict[str, Any]

__all__ = ["internal_search_messages", "move_messages", "position_text", "value_messages"]


def position_text(notation: Notation, state: Any, *, list_moves: bool = True) -> str:
    """The board, whose turn it is and (optionally) the legal moves, in the game's notation."""
    lines = [f"Board ({notation.board_help})" if notation.board_help else "Board:", notation.board(state)]
    lines.append(f"Side to move: {notation.side(state)}")
    if list_moves:
        lines.append(f"Legal moves ({notation.move_help}): {' '.join(notation.move_names(state))}")
    return "\n".join(lines)


def _system(notation: Notation, task: str) -> Message:
    return {"role": "system", "content": f"You are a strong {notation.title} player. {task}"}


def move_messages(notation: Notation, state: Any, example_state: Any) -> list[Message]:
    """Ask for one move; the reply should be the move's name and nothing else."""
    example_moves = list(notation.move_names(example_state))
    example_reply = example_moves[len(example_moves) // 2]
    return [
        _system(notation, "You answer with one legal move and nothing else."),
        {"role": "user", "content": position_text(notation, example_state) + "\nYour move:"},
        {"role": "assistant", "content": example_reply},
        {"role": "user", "content": position_text(notation, state) + "\nYour move:"},
    ]


def value_messages(notation: Notation, state: Any, players: tuple[str, str]) -> list[Message]:
    """Ask who is winning; the reply should be one side's name (read through its log-probability)."""
    a, b = players
    return [
        _system(notation, f"You judge positions: you answer with the side that is winning, {a} or {b}."),
        {
            "role": "user",
            "content": position_text(notation, state, list_moves=False) + f"\nWho is winning, {a} or {b}? Answer:",
        },
    ]


def internal_search_messages(notation: Notation, state: Any, example_state: Any, breadth: int = 3) -> list[Message]:
    """Ask the model to search in its own reply: a linearised tree of candidate moves, the opponent's
    best answer to each with a value, then the chosen move on a last line `Best move: M`."""
    names = list(notation.move_names(example_state))
    picks = names[: max(1, breadth)]
    example_lines = ["Search:"]
    for i, move in enumerate(picks):
        child = example_state.child(notation.move_names(example_state)[move])
        replies = list(notation.move_names(child)) or ["-"]
        value = 0.6 - 0.1 * i
        example_lines.append(f"- {move} -> reply {replies[len(replies) // 2]} -> value {value:.1f}")
    example_lines.append(f"Best move: {picks[0]}")
    instructions = (
        f"Think by searching: list up to {breadth} candidate moves, each with the opponent's best reply "
        "and a value from 0 (lost) to 1 (won) for you, one per line as '- MOVE -> reply MOVE -> value V'. "
        "Then write the move you choose on the last line as 'Best move: MOVE'."
    )
    return [
        _system(notation, instructions),
        {"role": "user", "content": position_text(notation, example_state) + "\nSearch, then choose."},
        {"role": "assistant", "content": "\n".join(example_lines)},
        {"role": "user", "content": position_text(notation, state) + "\nSearch, then choose."},
    ]
