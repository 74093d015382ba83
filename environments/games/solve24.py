"""An exact Game of 24 solver, solution counts and a seeded puzzle generator.

Everything is memoised over sorted multisets of Fractions and walks the same move list as the
environment (`arith.combinations`), so "solvable" means solvable by playing legal moves.
The environment never calls this module: rewards do not leak the solver.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache

from treeagent.environments.games.arith import Combine, combinations, fmt

__all__ = [
    "KNOWN_UNSOLVABLE",
    "count_solutions",
    "difficulty",
    "generate_puzzles",
    "solve24",
    "solve24_steps",
    "solve_rate",
]

KNOWN_UNSOLVABLE: tuple[int, ...] = (1, 1, 1, 1)
_CACHE = 1 << 18


def _key(numbers: Iterable[Fraction | int]) -> tuple[Fraction, ...]:
    return tuple(sorted(Fraction(n) for n in numbers))


@lru_cache(maxsize=_CACHE)
def _first_move(numbers: tuple[Fraction, ...], target: Fraction) -> Combine | None:
    """A move from which `target` stays reachable, or None."""
    if len(numbers) == 2:
        if not _two_reach(numbers[0], numbers[1], target):
            return None
        return next(move for move, result, _ in combinations(numbers) if result == target)
    for move, result, rest in combinations(numbers):
        if _first_move(tuple(sorted((*rest, result))), target) is not None:
            return move
    return None


def _two_reach(a: Fraction, b: Fraction, target: Fraction) -> bool:
    """Whether one operation on a and b gives target (the hot leaf of the search, kept cheap)."""
    return (
        a + b == target
        or a * b == target
        or a - b == target
        or b - a == target
        or (b != 0 and a == target * b)
        or (a != 0 and b == target * a)
    )


@lru_cache(maxsize=_CACHE)
def _counts(numbers: tuple[Fraction, ...], target: Fraction) -> tuple[int, int, float]:
    """(winning move sequences, all move sequences, chance a uniform random player wins)."""
    if len(numbers) == 1:
        won = int(numbers[0] == target)
        return won, 1, float(won)
    wins = total = 0
    rate = 0.0
    moves = 0
    for _, result, rest in combinations(numbers):
        w, t, r = _counts(tuple(sorted((*rest, result))), target)
        wins, total, rate, moves = wins + w, total + t, rate + r, moves + 1
    return wins, total, rate / moves if moves else 0.0


def solve24_steps(numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> list[Combine] | None:
    """Moves that reach `target` (playable one by one in `Game24Env`), or None if none exist."""
    state, goal = _key(numbers), Fraction(target)
    if len(state) == 1:
        return [] if state[0] == goal else None
    steps: list[Combine] = []
    while len(state) > 1:
        move = _first_move(state, goal)
        if move is None:
            return None
        steps.append(move)
        rest = list(state)
        rest.remove(move.left)
        rest.remove(move.right)
        state = tuple(sorted((*rest, move.result)))
    return steps


def solve24(numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> str | None:
    """One expression over `numbers` (each used once) equal to `target`, e.g. "(4 * 6) * (3 - 2)"."""
    steps = solve24_steps(numbers, target)
    if steps is None:
        return None
    pool: list[tuple[Fraction, str]] = [(v, _literal(v)) for v in _key(numbers)]
    for move in steps:
        left = _take(pool, move.left)
        right = _take(pool, move.right)
        pool.append((move.result, f"({left} {move.op} {right})"))
    text = pool[0][1]
    return text[1:-1] if text.startswith("(") and len(steps) > 0 else text


def _literal(value: Fraction) -> str:
    return fmt(value) if value.denominator == 1 and value >= 0 else f"({fmt(value)})"


def _take(pool: list[tuple[Fraction, str]], value: Fraction) -> str:
    for i, (v, text) in enumerate(pool):
        if v == value:
            del pool[i]
            return text
    raise AssertionError(f"solver step uses {value}, which is not available")  # pragma: no cover


def count_solutions(numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> int:
    """How many move sequences (as `Game24Env.legal_actions` lists them) end at `target`."""
    return _counts(_key(numbers), Fraction(target))[0]


def solve_rate(numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> float:
    """The exact chance that picking a uniformly random legal move at every step reaches `target`."""
    return _counts(_key(numbers), Fraction(target))[2]


def difficulty(numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> float:
    """-log10(solve_rate): how many orders of magnitude of random play a solution takes.

    0 when every random game wins, infinity when none does. Of the 1362 solvable classic puzzles
    (four numbers from 1 to 13), the easiest is about 1.0, the median 2.5 and the hardest 3.6;
    4 9 10 13 is 2.6.
    """
    rate = solve_rate(numbers, target)
    return -math.log10(rate) if rate > 0 else math.inf


def generate_puzzles(
    n: int,
    seed: int = 0,
    *,
    solvable: bool = True,
    min_difficulty: float = 0.0,
    low: int = 1,
    high: int = 13,
    size: int = 4,
    target: int = 24,
) -> list[tuple[int, ...]]:
    """`n` distinct puzzles (sorted tuples of `size` numbers in [low, high]) in a seeded order.

    Every multiset is enumerated once and shuffled with `random.Random(seed)`, so the result is
    reproducible and the call always ends; asking for more puzzles than exist raises ValueError.
    `min_difficulty` (see `difficulty`) keeps only puzzles a random player solves rarely.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if len(numbers_range := range(low, high + 1)) and n > math.comb(len(numbers_range) + size - 1, size):
        raise ValueError(
            f"only {math.comb(len(numbers_range) + size - 1, size)} puzzles of {size} numbers in "
            f"[{low}, {high}] exist; asked for {n}. Lower n or widen the range."
        )
    if not min_difficulty >= 0.0:
        raise ValueError(f"min_difficulty must be >= 0 (see `difficulty`), got {min_difficulty}")
    if low > high or size < 1:
        raise ValueError(f"need low <= high and size >= 1, got low={low}, high={high}, size={size}")
    pool = list(itertools.combinations_with_replacement(range(low, high + 1), size))
    random.Random(seed).shuffle(pool)
    found: list[tuple[int, ...]] = []
    for numbers in pool:
        if len(found) == n:
            break
        if (solve24_steps(numbers, target) is not None) != solvable:
            continue
        if solvable and difficulty(numbers, target) < min_difficulty:
            continue
        found.append(numbers)
    if len(found) < n:
        kind = "solvable" if solvable else "unsolvable"
        raise ValueError(
            f"only {len(found)} {kind} puzzles of {size} numbers in [{low}, {high}] with difficulty >= "
            f"{min_difficulty}; asked for {n}. Lower n or min_difficulty, or widen the range."
        )
    return found
