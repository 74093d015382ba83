"""Microseconds per `step_now` (and `advance`, `legal_actions`) of the game environments.

Not a test (pytest does not collect it): a measurement, meant for benchmarks/.
The same (state, action) pairs, taken from seeded random play, are stepped repeatedly; the
figure is the fastest of several passes, beside the raw pyspiel `State.child` for scale.

    python tests/games/bench_step_now.py [--quick]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from treeagent.environments.games import Game24Env, OpenSpielEnv, game24_task, game_task, generate_puzzles


def per_call_us(fn: Callable[[Any, Any], object], pairs: list[tuple[Any, Any]], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for state, action in pairs:
            fn(state, action)
        best = min(best, (time.perf_counter() - start) / len(pairs) * 1e6)
    return best


def connect_four_pairs(count: int, rng: random.Random) -> tuple[OpenSpielEnv, list[tuple[Any, int]]]:
    env = OpenSpielEnv("connect_four")
    root = asyncio.run(env.reset(game_task("connect_four"))).state
    pairs: list[tuple[Any, int]] = []
    while len(pairs) < count:
        state = root
        while not state.is_terminal():
            action = rng.choice(state.legal_actions())
            pairs.append((state, action))
            state = state.child(action)
    return env, pairs


def game24_pairs(puzzles: int, rng: random.Random) -> tuple[Game24Env, list[tuple[Any, Any]]]:
    env = Game24Env()
    pairs: list[tuple[Any, Any]] = []
    for numbers in generate_puzzles(puzzles, seed=0):
        state = asyncio.run(env.reset(game24_task(numbers))).state
        while len(state.numbers) > 1:
            action = rng.choice(env.legal_actions(state))
            pairs.append((state, action))
            state = env.step_now(state, action).state
    return env, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer pairs and passes (a few seconds)")
    args = parser.parse_args()
    passes = 3 if args.quick else 7
    rng = random.Random(0)
    c4, c4_pairs = connect_four_pairs(20_000 if args.quick else 100_000, rng)
    g24, g24_pairs = game24_pairs(300 if args.quick else 1000, rng)
    figures = {
        "connect_four_step_now_us": per_call_us(c4.step_now, c4_pairs, passes),
        "connect_four_advance_us": per_call_us(c4.advance, c4_pairs, passes),
        "pyspiel_child_us": per_call_us(lambda s, a: s.child(a), c4_pairs, passes),
        "game24_step_now_us": per_call_us(g24.step_now, g24_pairs, passes),
        "game24_legal_actions_us": per_call_us(lambda s, a: g24.legal_actions(s), g24_pairs, passes),
    }
    for name, value in figures.items():
        print(f"{name:28s} {value:8.2f}")
    print(json.dumps({"benchmark": "games_step_now", **{k: round(v, 3) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
