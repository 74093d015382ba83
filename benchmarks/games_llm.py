"""Connect Four against OpenSpiel's MCTS bot: the model alone, MCTS without it, MCTS with its priors,
and the model's internal search at the external search's token budget, in one run.

    TREEAGENT_BASE_URL=http://127.0.0.1:8790/v1 python benchmarks/games_llm.py [--games 4] [--quick]

Arms, each playing `--games` games (sides alternate) against OpenSpiel's Python MCTSBot with
`--opponent-simulations` simulations and random rollouts:
  (a) model alone: one request per position, never an illegal move (retries, then its prior);
  (b) uniform-mcts: treeagent's PUCT MCTS, uniform priors, one random rollout per leaf, 4 at once;
  (c) llm-mcts: the same search and rollouts, with the model's priors (logprobs, 25% uniform mixed in);
  (d) internal: the model writes a linearised search tree, with as many tokens per move as (c)
      used (prompt + completion), capped by `--internal-max-tokens` of generation (64 by default,
      to keep the run to minutes; `--internal-max-tokens 2000` gives it the full matched budget).
Score = (wins + draws/2) / games with a 95% Wilson interval. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from treeagent.agents.games import GameLLMPolicy, InternalSearch
from treeagent.agents.games.players import InternalSearchPlayer, LLMPlayer, OpenSpielMCTSPlayer
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.environments.games.match import Player, play_match, score_interval
from treeagent.environments.games.records import GameRecord
from treeagent.players import llm_mcts_player, uniform_mcts_player

GAME = "connect_four"


async def arm(label: str, player: Player, games: int, opponent_sims: int, seed: int) -> dict[str, Any]:
    opponent = OpenSpielMCTSPlayer(opponent_sims, seed=seed + 1000)
    records: list[GameRecord] = []
    started = time.perf_counter()
    result = await play_match(GAME, player, opponent, games, on_record=records.append)
    seconds = time.perf_counter() - started
    score, low, high = score_interval(result.wins, result.draws, result.losses)
    ours = [m for r in records for m in r.moves if r.players[m.seat] == player.name]
    tokens = sum(int(m.info.get("tokens") or 0) for m in ours)
    row = {
        "arm": label,
        "player": player.name,
        "games": result.games,
        "wins": result.wins,
        "draws": result.draws,
        "losses": result.losses,
        "score": round(score, 3),
        "ci95": [round(low, 3), round(high, 3)],
        "moves": len(ours),
        "tokens_per_move": round(tokens / len(ours), 1) if ours else 0.0,
        "llm_calls_per_move": round(
            sum(int(m.info.get("llm_calls", m.info.get("requests", 0)) or 0) for m in ours) / max(1, len(ours)), 2
        ),
        "illegal_replies": sum(int(m.info.get("illegal_replies", 0)) for m in ours),
        "fallback_moves": sum(1 for m in ours if str(m.info.get("source", "")).startswith(("prior", "tree"))),
        "seconds": round(seconds, 1),
    }
    print(
        f"{label:<14} {player.name:<22} W {result.wins:>2} D {result.draws:>2} L {result.losses:>2}  "
        f"score {score:.2f} [{low:.2f}, {high:.2f}]  tokens/move {row['tokens_per_move']:>7}  "
        f"calls/move {row['llm_calls_per_move']:>5}  {seconds:6.1f} s",
        flush=True,
    )
    return row


async def main(args: argparse.Namespace) -> dict[str, Any]:
    config = LLMConfig.load(base_urls=[args.base_url] if args.base_url else None)
    # a long internal search is one long generation: give it time at a busy CPU engine's ~4 tokens/s
    timeout_s = max(config.request_timeout_s, args.internal_max_tokens / 4)
    config = config.model_copy(update={"request_timeout_s": timeout_s})
    if not config.base_urls:
        sys.exit("set TREEAGENT_BASE_URL or pass --base-url (a running model server; this script starts none)")
    print(
        f"{GAME}: {args.games} games per arm vs OpenSpiel MCTS({args.opponent_simulations}); "
        f"our MCTS {args.simulations} simulations; model at {config.base_urls[0]}",
        flush=True,
    )
    rows: dict[str, dict[str, Any]] = {}
    async with LLMClient(config) as llm:
        rows["model_alone"] = await arm(
            "model alone", LLMPlayer(GameLLMPolicy(llm)), args.games, args.opponent_simulations, args.seed
        )
        rows["mcts_uniform"] = await arm(
            "mcts uniform",
            uniform_mcts_player(simulations=args.simulations, seed=args.seed, concurrency=4),
            args.games,
            args.opponent_simulations,
            args.seed,
        )
        rows["mcts_llm"] = await arm(
            "mcts llm",
            llm_mcts_player(llm, simulations=args.simulations, seed=args.seed, value_weight=args.value_weight),
            args.games,
            args.opponent_simulations,
            args.seed,
        )
        # internal search gets the tokens per move external search spent, as far as the context allows
        matched = int(rows["mcts_llm"]["tokens_per_move"])
        prompt_estimate = 360  # the internal-search prompt on connect_four, measured (~350 tokens)
        generation = max(32, min(args.internal_max_tokens, matched - prompt_estimate))
        internal = InternalSearchPlayer(InternalSearch(llm, max_tokens=generation))
        rows["internal"] = await arm("internal", internal, args.internal_games, args.opponent_simulations, args.seed)
        rows["internal"]["sources"] = internal.sources
        rows["internal"]["max_tokens"] = generation
        stats = llm.stats
    print(
        f"internal search: {generation} generated tokens per move allowed (external search used {matched} tokens "
        f"per move, prompts included); its moves came from: {internal.sources}"
    )
    print(
        f"model requests: {stats.requests}, prompt tokens {stats.prompt_tokens}, completion {stats.completion_tokens}"
    )
    return {
        "game": GAME,
        "games": args.games,
        "internal_games": args.internal_games,
        "opponent": f"openspiel-mcts({args.opponent_simulations})",
        "simulations": args.simulations,
        "model_alone_score": rows["model_alone"]["score"],
        "mcts_uniform_score": rows["mcts_uniform"]["score"],
        "mcts_llm_score": rows["mcts_llm"]["score"],
        "internal_score": rows["internal"]["score"],
        "mcts_llm_tokens_per_move": rows["mcts_llm"]["tokens_per_move"],
        "internal_tokens_per_move": rows["internal"]["tokens_per_move"],
        "arms": rows,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=4, help="games per arm (sides alternate)")
    parser.add_argument("--internal-games", type=int, default=2, help="games for the internal-search arm (slow)")
    parser.add_argument("--simulations", type=int, default=8, help="simulations per move of arms (b) and (c)")
    parser.add_argument("--opponent-simulations", type=int, default=8, help="OpenSpiel MCTS simulations per move")
    parser.add_argument("--internal-max-tokens", type=int, default=64, help="cap on internal search generation")
    parser.add_argument("--value-weight", type=float, default=0.0, help="(c): model value vs rollouts weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-url", default=os.environ.get("TREEAGENT_BASE_URL"))
    parser.add_argument("--quick", action="store_true", help="2 games per arm, 1 for internal search")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.games, parsed.internal_games = 2, 1
    summary = asyncio.run(main(parsed))
    print(json.dumps(summary))
