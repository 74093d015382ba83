"""Brute-force game solving with pyspiel itself: the ground truth for the known positions."""

from __future__ import annotations

from functools import cache
from typing import Any

import pyspiel


def forced_win_within(state: Any, plies: int) -> bool:
    """Whether the player to move can force a win within `plies` plies (their own moves included)."""
    if plies <= 0 or state.is_terminal():
        return False
    me = state.current_player()
    for action in state.legal_actions():
        child = state.child(action)
        if child.is_terminal():
            if child.returns()[me] > 0:
                return True
            continue
        if plies >= 3 and all(_mover_wins_after(child.child(reply), me, plies - 2) for reply in child.legal_actions()):
            return True
    return False


def _mover_wins_after(state: Any, me: int, plies: int) -> bool:
    if state.is_terminal():
        return bool(state.returns()[me] > 0)
    return forced_win_within(state, plies)


def winning_moves_within(state: Any, plies: int) -> list[int]:
    """The moves after which the player to move forces a win within `plies` plies in all."""
    me = state.current_player()
    found = []
    for action in state.legal_actions():
        child = state.child(action)
        if child.is_terminal():
            if child.returns()[me] > 0:
                found.append(action)
        elif plies >= 3 and all(
            _mover_wins_after(child.child(reply), me, plies - 2) for reply in child.legal_actions()
        ):
            found.append(action)
    return found


def game_value(game_name: str, history: tuple[int, ...]) -> float:
    """The exact minimax value for the player to move (tic_tac_toe-sized games only)."""
    return _value(game_name, history)


@cache
def _value(game_name: str, history: tuple[int, ...]) -> float:
    state = pyspiel.load_game(game_name).new_initial_state()
    for a in history:
        state.apply_action(a)
    if state.is_terminal():
        raise ValueError("terminal")
    me = state.current_player()
    best = -2.0
    for action in state.legal_actions():
        child = state.child(action)
        v = child.returns()[me] if child.is_terminal() else -_value(game_name, (*history, action))
        best = max(best, v)
    return best


def move_values(game_name: str, history: tuple[int, ...]) -> dict[int, float]:
    """The exact value of each legal move for the player to move."""
    state = pyspiel.load_game(game_name).new_initial_state()
    for a in history:
        state.apply_action(a)
    me = state.current_player()
    out = {}
    for action in state.legal_actions():
        child = state.child(action)
        out[action] = child.returns()[me] if child.is_terminal() else -_value(game_name, (*history, action))
    return out
