"""Best-first, DFSDT and beam search on the Game of 24 with no model.

The policy is uniform over legal moves; the evaluators are random rollouts (a real, generic
estimator) or, where a test needs determinism, the exact solver used as an oracle.
"""

from __future__ import annotations

from typing import Any

import pytest

from treeagent.agents.base import NodeView
from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.environments.games.solve24 import solve24
from treeagent.search import DFSDT, Beam, BestFirst, Budget, Controller


class SolvableOracle:
    """1.0 when the remaining numbers can still make 24, else 0.0 (exact, deterministic)."""

    async def value(self, view: NodeView) -> float:
        return 1.0 if solve24(list(view.state.numbers)) is not None else 0.0


# Puzzles from the seeded generator (each checked solvable by the exact solver in tests/games).
PUZZLES = [(5, 5, 8, 13), (2, 3, 5, 6), (6, 9, 12, 13), (2, 3, 8, 9), (4, 4, 7, 8), (6, 6, 8, 9)]
UNSOLVABLE = (1, 1, 1, 1)
ALL = 64  # more than any Game of 24 state has legal moves: "propose them all"

# The stated budgets (expansions) within which each controller solves every puzzle above.
BUDGETS = {"best_first": 400, "dfsdt": 3000, "dfsdt_pruned": 60, "beam": 60}


def controllers(budget: Budget | None = None, concurrency: int = 1) -> dict[str, Controller]:
    def common(name: str) -> dict[str, Any]:
        return {"budget": budget or Budget(max_expansions=BUDGETS[name]), "concurrency": concurrency, "seed": 3}

    return {
        "best_first": BestFirst(
            UniformPolicy(), RandomRollout(n=8, seed=1), branching=ALL, max_depth=3, **common("best_first")
        ),
        # blind depth-first search over the whole tree, one proposal at a time
        "dfsdt": DFSDT(UniformPolicy(), width=ALL, max_depth=3, **common("dfsdt")),
        # the same with value pruning (Tree of Thoughts' DFS) by an exact oracle
        "dfsdt_pruned": DFSDT(
            UniformPolicy(), SolvableOracle(), prune_below=0.5, width=ALL, max_depth=3, **common("dfsdt_pruned")
        ),
        "beam": Beam(
            UniformPolicy(), RandomRollout(n=8, seed=1), width=8, expansions_per_beam=ALL, max_depth=3, **common("beam")
        ),
    }


NAMES = list(BUDGETS)
UNGUIDED = ["best_first", "dfsdt", "beam"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("numbers", PUZZLES)
async def test_controllers_solve_solvable_puzzles_within_budget(numbers: tuple[int, ...], name: str) -> None:
    env = Game24Env()
    controller = controllers()[name]
    result = await controller.run(env, game24_task(numbers))
    assert result.solved, f"{name} failed {numbers}: {result.summary()}"
    assert result.stop_reason == "solved"
    assert result.stats.expansions <= BUDGETS[name]
    step = await env.reset(game24_task(numbers))
    for action in result.best_actions:
        step = await env.step(step.state, action)
    assert step.solved and len(result.best_actions) == 3


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("name", UNGUIDED)
async def test_each_stops_exactly_at_its_expansion_budget_on_an_unsolvable_puzzle(name: str, concurrency: int) -> None:
    controller = controllers(Budget(max_expansions=9), concurrency)[name]
    result = await controller.run(Game24Env(), game24_task(UNSOLVABLE))
    assert not result.solved
    assert result.stats.expansions == 9
    assert result.stop_reason == "max_expansions"


@pytest.mark.parametrize("name", UNGUIDED)
async def test_each_stops_exactly_at_its_env_step_budget(name: str) -> None:
    controller = controllers(Budget(max_env_steps=25))[name]
    result = await controller.run(Game24Env(), game24_task(UNSOLVABLE))
    assert result.stats.env_steps == 25
    assert len(result.tree) == 26  # the root and one child per step
    assert result.stop_reason == "max_env_steps"


@pytest.mark.parametrize("name", NAMES)
async def test_unsolvable_puzzle_exhausts_the_tree_without_reaching_the_budget(name: str) -> None:
    controller = controllers(Budget(max_expansions=100_000))[name]
    result = await controller.run(Game24Env(), game24_task((1, 1, 1, 2)))
    assert not result.solved
    assert result.stop_reason == "exhausted"


async def test_best_first_stops_at_its_value_threshold() -> None:
    numbers = PUZZLES[0]
    result = await BestFirst(UniformPolicy(), SolvableOracle(), branching=ALL, max_depth=3, stop_value=1.0).run(
        Game24Env(), game24_task(numbers)
    )
    # The oracle scores a solvable child 1.0, which is the stop value: the search stops after
    # the first expansion with a child that keeps the puzzle solvable.
    assert result.stats.expansions == 1
    assert result.best_value == 1.0


async def test_value_pruning_dfsdt_tries_each_root_move_once_on_an_unsolvable_puzzle() -> None:
    env = Game24Env()
    task = game24_task(UNSOLVABLE)
    result = await controllers()["dfsdt_pruned"].run(env, task)
    root_moves = env.legal_actions((await env.reset(task)).state)
    assert not result.solved and result.stop_reason == "exhausted"
    # one proposal per expansion; every child is pruned, so nothing below depth 1 is expanded
    assert result.stats.expansions == len(root_moves)
    assert max(n.depth for n in result.tree) == 1


@pytest.mark.parametrize("name", NAMES)
async def test_same_seed_gives_the_same_tree_even_with_concurrency(name: str) -> None:
    async def shape() -> list[tuple[int, int | None, str, float | None]]:
        result = await controllers(concurrency=4)[name].run(Game24Env(), game24_task(PUZZLES[3]))
        return [(n.id, n.parent.id if n.parent else None, n.text, n.value) for n in result.tree]

    assert await shape() == await shape()
