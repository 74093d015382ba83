"""MCTS speed on connect_four: treeagent's generic async controller vs OpenSpiel's bots.

The same positions, the same simulation count and the same evaluator (one uniformly random
rollout per leaf, UCT c=1.414, solver on) for: treeagent's MCTS (UniformPolicy + RandomRollout on
OpenSpielEnv), OpenSpiel's Python `MCTSBot`, and OpenSpiel's C++ `MCTSBot`. Prints simulations
per second for each and the ratios, then the memory per node of a 100k-node treeagent tree.

    python benchmarks/mcts_games.py [--quick]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
import pyspiel
from open_spiel.python.algorithms import mcts as os_mcts

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.search import MCTS

GAME = "connect_four"
UCT_C = 1.414


def positions(count: int, seed: int) -> list[list[int]]:
    """The start and midgame positions reached by random play (none of them finished)."""
    rng = random.Random(seed)
    game = pyspiel.load_game(GAME)
    found: list[list[int]] = [[]]
    while len(found) < count:
        state, moves = game.new_initial_state(), []
        for _ in range(rng.randrange(2, 16)):
            action = rng.choice(state.legal_actions())
            state.apply_action(action)
            moves.append(action)
            if state.is_terminal():
                break
        if not state.is_terminal():
            found.append(moves)
    return found


def state_after(moves: list[int]) -> Any:
    state = pyspiel.load_game(GAME).new_initial_state()
    for action in moves:
        state.apply_action(action)
    return state


async def ours(moves_list: list[list[int]], simulations: int) -> tuple[int, float]:
    env = OpenSpielEnv(GAME)
    evaluator = RandomRollout(n=1, seed=0)
    total_sims, total_time = 0, 0.0
    for i, moves in enumerate(moves_list):
        controller = MCTS(UniformPolicy(), evaluator, simulations=simulations, exploration=UCT_C, seed=i)
        task = game_task(GAME, moves)
        started = time.perf_counter()
        result = await controller.run(env, task)
        total_time += time.perf_counter() - started
        total_sims += result.stats.simulations
    return total_sims, total_time


def openspiel_python(moves_list: list[list[int]], simulations: int) -> tuple[int, float]:
    game = pyspiel.load_game(GAME)
    rng = np.random.RandomState(0)
    bot = os_mcts.MCTSBot(
        game, UCT_C, simulations, os_mcts.RandomRolloutEvaluator(1, rng), random_state=rng, solve=True
    )
    total_sims, total_time = 0, 0.0
    for moves in moves_list:
        state = state_after(moves)
        started = time.perf_counter()
        root = bot.mcts_search(state)
        total_time += time.perf_counter() - started
        total_sims += root.explore_count  # stops early, like ours, when the solver proves the root
    return total_sims, total_time


def openspiel_cpp(moves_list: list[list[int]], simulations: int) -> tuple[int, float]:
    game = pyspiel.load_game(GAME)
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, 0), UCT_C, simulations, 1000, True, 0, False)
    total_time = 0.0
    for moves in moves_list:
        state = state_after(moves)
        started = time.perf_counter()
        bot.step(state)
        total_time += time.perf_counter() - started
    return simulations * len(moves_list), total_time


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


async def node_memory(target_nodes: int) -> dict[str, float]:
    """Bytes per node of a treeagent MCTS tree grown past `target_nodes` on connect_four.

    Python heap per node (tracemalloc) and resident memory per node (RSS, which also counts the
    C++ game states OpenSpiel holds for the nodes that were stepped).
    """
    env = OpenSpielEnv(GAME)
    gc.collect()
    rss_before = rss_bytes()
    plain = await MCTS(UniformPolicy(), RandomRollout(n=1), simulations=target_nodes // 7 + 1).run(env, game_task(GAME))
    rss_per_node = (rss_bytes() - rss_before) / len(plain.tree)
    del plain
    gc.collect()
    controller = MCTS(UniformPolicy(), RandomRollout(n=1), simulations=target_nodes, exploration=UCT_C)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    # grow in steps until the tree is big enough (lazy children: ~7 nodes per simulation)
    sims = max(1, target_nodes // 7)
    while True:
        controller.simulations = sims
        result = await controller.run(env, game_task(GAME))
        if len(result.tree) >= target_nodes:
            break
        del result
        sims = int(sims * 1.3) + 1
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    nodes = len(result.tree)
    stepped = sum(1 for n in result.tree if n.step is not None)
    return {
        "nodes": nodes,
        "stepped_nodes": stepped,
        "python_bytes_per_node": used / nodes,
        "rss_bytes_per_node": rss_per_node,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run of about a minute (same ratios, fewer positions)")
    parser.add_argument("--simulations", type=int, default=None, help="simulations per position")
    parser.add_argument("--positions", type=int, default=None, help="how many positions")
    args = parser.parse_args()
    simulations = args.simulations or (1500 if args.quick else 4000)
    count = args.positions or (16 if args.quick else 40)
    moves_list = positions(count, seed=1)

    # memory first, in a fresh heap, so the resident-size delta is not hidden by freed pages
    target = 20_000 if args.quick else 100_000
    memory = asyncio.run(node_memory(target))
    print(f"{GAME}: {count} positions x {simulations} simulations, one random rollout per leaf, UCT c={UCT_C}")
    # alternate the order so neither side always runs on a warmer machine
    ours_sims, ours_time = asyncio.run(ours(moves_list, simulations))
    py_sims, py_time = openspiel_python(moves_list, simulations)
    ours2_sims, ours2_time = asyncio.run(ours(moves_list, simulations))
    py2_sims, py2_time = openspiel_python(moves_list, simulations)
    cpp_sims, cpp_time = openspiel_cpp(moves_list, simulations)
    ours_rate = (ours_sims + ours2_sims) / (ours_time + ours2_time)
    py_rate = (py_sims + py2_sims) / (py_time + py2_time)
    cpp_rate = cpp_sims / cpp_time
    print(f"  treeagent MCTS (async, generic)  {ours_rate:>10,.0f} sims/s")
    print(f"  OpenSpiel Python MCTSBot         {py_rate:>10,.0f} sims/s")
    print(f"  OpenSpiel C++ MCTSBot            {cpp_rate:>10,.0f} sims/s")
    print(f"  ratio vs OpenSpiel Python: {ours_rate / py_rate:.2f}x   vs C++: {ours_rate / cpp_rate:.3f}x")

    print(
        f"  tree of {memory['nodes']:,} nodes ({memory['stepped_nodes']:,} with a state): "
        f"{memory['python_bytes_per_node']:,.0f} bytes per node on the Python heap (tracemalloc), "
        f"{memory['rss_bytes_per_node']:,.0f} bytes per node resident (RSS, with OpenSpiel's C++ states)"
    )
    summary = {
        "benchmark": "mcts_games",
        "game": GAME,
        "quick": args.quick,
        "positions": count,
        "simulations_per_position": simulations,
        "ours_sims_per_s": round(ours_rate, 1),
        "openspiel_python_sims_per_s": round(py_rate, 1),
        "ratio_vs_openspiel_python": round(ours_rate / py_rate, 3),
        "openspiel_cpp_sims_per_s": round(cpp_rate, 1),
        "ratio_vs_openspiel_cpp": round(ours_rate / cpp_rate, 4),
        "tree_nodes": memory["nodes"],
        "bytes_per_node": round(memory["python_bytes_per_node"], 1),
        "rss_bytes_per_node": round(memory["rss_bytes_per_node"], 1),
    }
    sys.stdout.flush()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
