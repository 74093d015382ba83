"""Every claim in positions.py, checked by brute force with pyspiel itself."""

from __future__ import annotations

from typing import Any

import pytest

pyspiel = pytest.importorskip("pyspiel")

from tests.games.brute_force import forced_win_within, move_values, winning_moves_within  # noqa: E402
from tests.games.positions import (  # noqa: E402
    ALL_POSITIONS,
    CONNECT_FOUR_WIN_IN_1,
    CONNECT_FOUR_WIN_IN_3,
    TIC_TAC_TOE_WIN_IN_1,
    TIC_TAC_TOE_WIN_IN_3,
    KnownPosition,
)
from treeagent.environments.games import OpenSpielEnv, game_task  # noqa: E402


async def _state(position: KnownPosition) -> tuple[OpenSpielEnv, Any]:
    env = OpenSpielEnv(position.game)
    step = await env.reset(game_task(position.game, position.moves))
    assert step.to_play == position.to_play
    assert not step.terminal
    return env, step.state


def _ids(position: KnownPosition) -> str:
    return position.name


def test_every_kind_is_present() -> None:
    assert len(ALL_POSITIONS) == len({p.name for p in ALL_POSITIONS})
    assert {(p.game, p.plies) for p in ALL_POSITIONS} == {
        ("tic_tac_toe", 1),
        ("tic_tac_toe", 3),
        ("connect_four", 1),
        ("connect_four", 3),
    }


@pytest.mark.parametrize("position", TIC_TAC_TOE_WIN_IN_1 + TIC_TAC_TOE_WIN_IN_3, ids=_ids)
async def test_tic_tac_toe_winning_move_is_the_only_one_by_exact_solution(position: KnownPosition) -> None:
    _, state = await _state(position)
    values = move_values("tic_tac_toe", tuple(state.history()))
    assert [a for a, v in values.items() if v > 0] == [position.winning_move]
    assert winning_moves_within(state, position.plies) == [position.winning_move]
    if position.plies == 3:
        assert not forced_win_within(state, 1)


@pytest.mark.parametrize("position", CONNECT_FOUR_WIN_IN_1 + CONNECT_FOUR_WIN_IN_3, ids=_ids)
async def test_connect_four_winning_move_is_unique_five_plies_deep(position: KnownPosition) -> None:
    _, state = await _state(position)
    assert winning_moves_within(state, position.plies) == [position.winning_move]
    assert winning_moves_within(state, 5) == [position.winning_move]
    if position.plies == 3:
        assert not forced_win_within(state, 1)


@pytest.mark.parametrize("position", TIC_TAC_TOE_WIN_IN_1 + CONNECT_FOUR_WIN_IN_1, ids=_ids)
async def test_win_in_one_ends_the_game_with_the_mover_winning(position: KnownPosition) -> None:
    env, state = await _state(position)
    step = env.step_now(state, position.winning_move)
    assert step.terminal and step.to_play is None
    assert step.returns is not None
    assert step.returns[position.to_play] == 1.0
    assert step.returns[1 - position.to_play] == -1.0


@pytest.mark.parametrize("position", TIC_TAC_TOE_WIN_IN_3 + CONNECT_FOUR_WIN_IN_3, ids=_ids)
async def test_win_in_three_survives_every_reply(position: KnownPosition) -> None:
    env, state = await _state(position)
    after = env.step_now(state, position.winning_move)
    assert not after.terminal
    for reply in env.legal_actions(after.state):
        step = env.step_now(after.state, reply)
        assert not step.terminal
        finishing = [a for a in env.legal_actions(step.state) if env.step_now(step.state, a).terminal]
        wins = [a for a in finishing if (env.step_now(step.state, a).returns or (0.0, 0.0))[position.to_play] == 1.0]
        assert wins, f"no winning follow-up after reply {reply}"


def test_brute_force_sees_a_loss_as_no_win() -> None:
    # A finished game has no winning move; x in two corners and o in the centre is a draw.
    assert max(move_values("tic_tac_toe", (0, 4, 8)).values()) == 0.0
    assert move_values("tic_tac_toe", (0, 4, 8))[2] == -1.0  # o in a corner loses to a fork
    state = pyspiel.load_game("tic_tac_toe").new_initial_state()
    for a in (0, 3, 1, 4, 2):
        state.apply_action(a)
    assert state.is_terminal()
    assert not forced_win_within(state, 5)
