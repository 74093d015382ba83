"""MCTS on real OpenSpiel games with a uniform policy and random rollouts (no model)."""

from __future__ import annotations

import random

import pytest

from tests.games.positions import (
    CONNECT_FOUR_WIN_IN_1,
    CONNECT_FOUR_WIN_IN_3,
    TIC_TAC_TOE_WIN_IN_1,
    TIC_TAC_TOE_WIN_IN_3,
    KnownPosition,
)
from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.search import MCTS, Budget, best_child


def _mcts(simulations: int, seed: int = 0, **kwargs: object) -> MCTS:
    return MCTS(UniformPolicy(), RandomRollout(seed=seed), simulations=simulations, seed=seed, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "position",
    TIC_TAC_TOE_WIN_IN_1 + TIC_TAC_TOE_WIN_IN_3 + CONNECT_FOUR_WIN_IN_1 + CONNECT_FOUR_WIN_IN_3,
    ids=lambda p: p.name,
)
async def test_mcts_finds_the_winning_move(position: KnownPosition) -> None:
    env = OpenSpielEnv(position.game)
    result = await _mcts(3000).run(env, game_task(position.game, position.moves))
    move = best_child(result.tree.root)
    assert move.action == position.winning_move, result.tree.root.children
    assert move.mover == position.to_play


@pytest.mark.parametrize("position", CONNECT_FOUR_WIN_IN_3, ids=lambda p: p.name)
async def test_solver_proves_a_forced_win_and_stops_early(position: KnownPosition) -> None:
    env = OpenSpielEnv(position.game)
    result = await _mcts(200_000).run(env, game_task(position.game, position.moves))
    root = result.tree.root
    # The root's mover is the player who is *not* to move: a forced win for the side to move is
    # a proven loss from the root's side, and the search stops long before its simulation limit.
    assert root.proven == 0.0
    assert result.stats.simulations < 200_000
    assert best_child(root).proven == 1.0
    assert best_child(root).action == position.winning_move


def test_mcts_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="needs a limit"):
        MCTS(UniformPolicy(), RandomRollout())


async def test_same_seed_same_tree_and_other_seed_differs() -> None:
    env = OpenSpielEnv("connect_four")
    task = game_task("connect_four")

    async def shape(seed: int) -> list[tuple[int, int, int]]:
        result = await _mcts(300, seed=seed).run(env, task)
        return [(n.id, n.action, n.visits) for n in result.tree]

    first, again, other = await shape(1), await shape(1), await shape(2)
    assert first == again
    assert first != other


@pytest.mark.parametrize("selection", ["uct", "puct"])
async def test_concurrent_simulations_with_virtual_loss_still_find_the_win(selection: str) -> None:
    position = CONNECT_FOUR_WIN_IN_1[0]
    env = OpenSpielEnv(position.game)
    result = await _mcts(2000, concurrency=8, selection=selection).run(env, game_task(position.game, position.moves))
    assert best_child(result.tree.root).action == position.winning_move
    assert result.stats.simulations <= 2000
    # virtual loss is undone: the root's visits equal the simulations backed up through it
    assert result.tree.root.visits == result.stats.simulations


async def test_expansion_budget_is_exact() -> None:
    env = OpenSpielEnv("connect_four")
    result = await MCTS(UniformPolicy(), RandomRollout(), budget=Budget(max_expansions=37)).run(
        env, game_task("connect_four")
    )
    assert result.stats.expansions == 37
    assert result.stop_reason == "max_expansions"


async def _play(env: OpenSpielEnv, seed: int, mcts_player: int, simulations: int) -> float:
    """One game of MCTS against a uniformly random player; MCTS's return."""
    rng = random.Random(seed)
    moves: list[int] = []
    step = await env.reset(game_task("connect_four"))
    controller = _mcts(simulations, seed=seed)
    while not step.terminal:
        if step.to_play == mcts_player:
            result = await controller.run(env, game_task("connect_four", moves))
            action = best_child(result.tree.root).action
        else:
            action = rng.choice(env.legal_actions(step.state))
        moves.append(action)
        step = env.step_now(step.state, action)
    assert step.returns is not None
    return step.returns[mcts_player]


@pytest.mark.slow
async def test_mcts_beats_random_at_connect_four() -> None:
    env = OpenSpielEnv("connect_four")
    returns = [await _play(env, seed, seed % 2, 400) for seed in range(100)]
    wins = sum(1 for r in returns if r > 0)
    assert wins >= 95, f"MCTS won {wins} of 100 games"
