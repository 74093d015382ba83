"""The model as PUCT priors inside MCTS: one game of Connect Four against a random player.

    TREEAGENT_BASE_URL=http://127.0.0.1:8790/v1 python examples/games_llm_mcts.py [--simulations 4]

Each position costs one model request (cached: a position searched again costs nothing); the
priors come from the reply's token log-probabilities over the legal columns. Every move, with
its search statistics, is written to a JSONL game record.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from treeagent.agents.games.players import RandomPlayer
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.environments.games.match import MatchResult, play_match
from treeagent.environments.games.records import GameRecord, read_jsonl, write_jsonl
from treeagent.players import llm_mcts_player


async def main(
    base_url: str, simulations: int = 4, games: int = 1, out: Path | None = None, seed: int = 0
) -> tuple[MatchResult, list[GameRecord]]:
    out = out or Path(tempfile.mkdtemp(prefix="treeagent-games-")) / "games.jsonl"
    async with LLMClient(LLMConfig(base_urls=[base_url])) as llm:
        ours = llm_mcts_player(llm, simulations=simulations, seed=seed)
        result = await play_match(
            "connect_four", ours, RandomPlayer(seed + 1), games, on_record=lambda r: write_jsonl(out, r)
        )
    records = list(read_jsonl(out))
    print(f"{ours.name} vs random: {result.wins} wins, {result.draws} draws, {result.losses} losses")
    print(f"model calls: {ours.llm_calls}, tokens: {ours.tokens}; game records: {out}")
    for record in records:
        print(" ".join(m.text for m in record.moves), "->", record.result_text())
    return result, records


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("TREEAGENT_BASE_URL"))
    parser.add_argument("--simulations", type=int, default=4)
    parser.add_argument("--games", type=int, default=1)
    args = parser.parse_args()
    if not args.base_url:
        parser.error("set TREEAGENT_BASE_URL or pass --base-url (a model server: `treeagent serve`)")
    asyncio.run(main(args.base_url, args.simulations, args.games))
