"""The exact 24 solver and the puzzle generator, checked against the environment itself."""

from __future__ import annotations

import ast
import itertools
import math
from collections import Counter
from fractions import Fraction

import pytest

from treeagent.environments.games.arith import ParseError, check_answer, evaluate
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

HARD = [(4, 9, 10, 13), (1, 5, 5, 5), (3, 3, 8, 8), (1, 3, 4, 6), (1, 4, 5, 6), (3, 3, 7, 7)]


def literals(expression: str) -> Counter[int]:
    """The integer literals of an expression, read with ast (never evaluated as Python)."""
    return Counter(
        node.value
        for node in ast.walk(ast.parse(expression, mode="eval"))
        if isinstance(node, ast.Constant) and isinstance(node.value, int)
    )


@pytest.mark.parametrize("numbers", HARD)
def test_the_expression_uses_each_number_once_and_equals_24(numbers: tuple[int, ...]) -> None:
    expression = solve24(numbers)
    assert expression is not None
    assert evaluate(expression) == 24
    assert literals(expression) == Counter(numbers)


def test_other_targets_and_sizes() -> None:
    expression = solve24([2, 3, 5, 7, 11], target=100)
    assert expression is not None and evaluate(expression) == 100
    assert solve24([24]) == "24" and solve24([23]) is None
    assert solve24([5, 5], target=1) in {"5 / 5"}


def test_known_unsolvable_puzzles() -> None:
    for numbers in [KNOWN_UNSOLVABLE, (1, 1, 1, 2), (13, 13, 13, 13)]:
        assert solve24(numbers) is None and solve24_steps(numbers) is None
        assert count_solutions(numbers) == 0 and solve_rate(numbers) == 0.0 and difficulty(numbers) == math.inf


def test_exactly_1362_of_the_1820_classic_puzzles_are_solvable() -> None:
    # The well-known count for four numbers from 1 to 13.
    puzzles = list(itertools.combinations_with_replacement(range(1, 14), 4))
    assert len(puzzles) == 1820
    assert sum(solve24_steps(p) is not None for p in puzzles) == 1362


def walk(env: Game24Env, state: Game24State) -> tuple[int, int, float]:
    """(winning paths, all paths, win chance of a uniform random player), by playing the environment."""
    step_moves = env.legal_actions(state)
    if not step_moves:
        return int(state.solved), 1, float(state.solved)
    wins = total = 0
    rate = 0.0
    for move in step_moves:
        step = env.step_now(state, move)
        w, t, r = walk(env, step.state) if not step.terminal else (int(step.solved), 1, float(step.solved))
        wins, total, rate = wins + w, total + t, rate + r
    return wins, total, rate / len(step_moves)


@pytest.mark.parametrize("numbers", [(4, 9, 10, 13), (1, 2, 3, 4), (6, 6, 6, 6), (1, 1, 1, 1)])
async def test_counts_agree_with_walking_every_path_of_the_environment(numbers: tuple[int, ...]) -> None:
    env = Game24Env()
    state = (await env.reset(game24_task(numbers))).state
    wins, _, rate = walk(env, state)
    assert count_solutions(numbers) == wins
    assert solve_rate(numbers) == pytest.approx(rate)
    assert difficulty(numbers) == (pytest.approx(-math.log10(rate)) if rate else math.inf)


def test_the_generator_is_reproducible_for_a_seed() -> None:
    first = generate_puzzles(30, seed=7)
    assert first == generate_puzzles(30, seed=7)
    assert first != generate_puzzles(30, seed=8)
    assert generate_puzzles(10, seed=7) == first[:10]
    assert len(set(first)) == 30
    assert all(len(p) == 4 and list(p) == sorted(p) and all(1 <= n <= 13 for n in p) for p in first)


async def test_every_generated_puzzle_is_solved_by_playing_the_solver_steps() -> None:
    env = Game24Env()
    for numbers in generate_puzzles(60, seed=3):
        step = await env.reset(game24_task(numbers))
        steps = solve24_steps(numbers)
        assert steps is not None and len(steps) == 3
        for move in steps:
            step = env.step_now(step.state, move)
        assert step.terminal and step.reward == 1.0


def test_unsolvable_and_hard_puzzles_on_request() -> None:
    unsolvable = generate_puzzles(20, seed=1, solvable=False)
    assert all(solve24(p) is None for p in unsolvable)
    hard = generate_puzzles(20, seed=1, min_difficulty=3.0)
    assert all(solve24(p) is not None and 3.0 <= difficulty(p) < math.inf for p in hard)
    assert sorted(hard) != sorted(generate_puzzles(20, seed=1))


def test_generator_bad_requests_say_what_to_change() -> None:
    with pytest.raises(ValueError, match="asked for 5000"):
        generate_puzzles(5000, seed=0)
    with pytest.raises(ValueError, match="min_difficulty"):
        generate_puzzles(1, seed=0, min_difficulty=-1.0)
    with pytest.raises(ValueError, match="difficulty >= 9"):
        generate_puzzles(1, seed=0, min_difficulty=9.0, high=6)
    with pytest.raises(ValueError, match="low <= high"):
        generate_puzzles(1, seed=0, low=9, high=2)


@pytest.mark.parametrize("text", ["__import__('os')", "2 ** 10", "(1).real", "[1, 2]", "1 if 1 else 2", "x"])
def test_evaluate_refuses_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(ParseError):
        evaluate(text)


def test_evaluate_is_exact() -> None:
    assert evaluate("8 / (3 - 8 / 3)") == 24
    assert evaluate("0.5 * 3") == Fraction(3, 2)
    with pytest.raises(ParseError, match="divides by zero"):
        evaluate("1 / (2 - 2)")


@pytest.mark.parametrize("numbers", HARD)
def test_solver_answers_pass_the_answer_check(numbers: tuple[int, ...]) -> None:
    expression = solve24(numbers)
    assert expression is not None
    assert check_answer(expression, numbers) and check_answer(f"{expression} = 24", numbers)


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ("(10 - 4) * (13 - 9) = 24", True),
        ("(13 - 9) × (10 - 4)", True),
        ("(10 - 4) * (13 - 9) * 1", False),  # a number that is not in the puzzle
        ("(10 - 4) * 4", False),  # 9 and 13 unused, 4 reused
        ("6 * 4", False),
        ("(10 + 4) + (13 - 9)", False),  # every number once, but 18
        ("-(4 - 10) * (13 - 9)", None),  # unary minus on an expression is not a 24 move
        ("__import__('os')", None),
    ],
)
def test_the_answer_check(answer: str, ok: bool | None) -> None:
    if ok is None:
        with pytest.raises(ParseError):
            check_answer(answer, (4, 9, 10, 13))
    else:
        assert check_answer(answer, (4, 9, 10, 13)) is ok
