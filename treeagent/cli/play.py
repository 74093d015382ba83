"""`treeagent play GAME`: one player against another, N games, with win/draw/loss, score and speed.

`--a` and `--b` pick the two players (the model's players need a server: TREEAGENT_BASE_URL or
`--base-url`); `--opponent` is the older way to pick B. Every game is written as JSONL (and
PGN for chess) under `--out`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from treeagent.cli.common import UserError, console, user_errors
from treeagent.registry import PLAYERS

#: the players `--opponent` (the older way to pick B) takes
OPPONENTS = ("random", "mcts", "openspiel-mcts")
PLAYER_HELP = ", ".join(r.name for r in PLAYERS.values())


@user_errors(ValueError)
def play(
    game: Annotated[str, typer.Argument(help="an OpenSpiel game: connect_four, tic_tac_toe, hex, chess, ...")],
    games: Annotated[int, typer.Option("--games", "-n", min=1, help="games to play (sides alternate)")] = 10,
    simulations: Annotated[int, typer.Option(min=1, help="our MCTS simulations per move")] = 400,
    opponent: Annotated[str, typer.Option(help=f"one of: {', '.join(OPPONENTS)}")] = "random",
    opponent_simulations: Annotated[
        int | None, typer.Option(min=1, help="the opponent's simulations per move (default: ours)")
    ] = None,
    exploration: Annotated[float, typer.Option(min=0.0, help="UCT exploration constant")] = 1.414,
    concurrency: Annotated[int, typer.Option(min=1, help="simulations run at once (virtual loss)")] = 1,
    seed: Annotated[int, typer.Option(help="seed for both players")] = 0,
    player_a: Annotated[str, typer.Option("--a", help=f"player A, one of: {PLAYER_HELP}")] = "mcts",
    player_b: Annotated[
        str | None, typer.Option("--b", help=f"player B, one of: {PLAYER_HELP} (default: --opponent)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the game records (default: runs/play/GAME-TIME)")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="model server for the llm players (default: $TREEAGENT_BASE_URL)")
    ] = None,
    llm_tokens: Annotated[int, typer.Option(min=8, help="token budget per move of the internal search")] = 256,
    value_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="llm-mcts: weight of the model's value against rollouts")
    ] = 0.0,
) -> None:
    """Play two players against each other: MCTS, the model alone, MCTS guided by the model, the
    model's internal search, random, or OpenSpiel's own MCTS bot."""
    from treeagent.environments.games.openspiel import OpenSpielEnv

    PLAYERS.get_recipe(opponent, among=OPPONENTS, what="opponent")
    player_a, kind_b = PLAYERS.canonical(player_a), PLAYERS.canonical(player_b or opponent)
    OpenSpielEnv(game)  # an unknown game fails here, with close matches named
    config = None
    if PLAYERS[player_a].needs_llm or PLAYERS[kind_b].needs_llm:
        from treeagent.agents.llm.config import LLMConfig

        config = LLMConfig.load(base_urls=[base_url] if base_url else None)
        if not config.base_urls:
            raise UserError(
                "the llm players need a model server: set TREEAGENT_BASE_URL or pass --base-url "
                "(start one with `treeagent serve`)"
            )
    folder = out or Path("runs/play") / f"{game}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(
        _match(
            game,
            games,
            player_a,
            kind_b,
            config,
            folder,
            simulations,
            opponent_simulations or simulations,
            exploration,
            concurrency,
            seed,
            llm_tokens,
            value_weight,
        )
    )


async def _match(
    game: str,
    games: int,
    kind_a: str,
    kind_b: str,
    config: Any,
    folder: Path,
    simulations: int,
    other_sims: int,
    exploration: float,
    concurrency: int,
    seed: int,
    llm_tokens: int,
    value_weight: float,
) -> None:
    from treeagent.environments.games.match import MatchResult, play_match, score_interval
    from treeagent.environments.games.records import GameRecord, to_pgn, write_jsonl

    llm = None
    if config is not None:
        from treeagent.agents.llm.client import LLMClient

        llm = LLMClient(config)
    try:
        common: dict[str, Any] = {
            "exploration": exploration,
            "concurrency": concurrency,
            "llm": llm,
            "llm_tokens": llm_tokens,
            "value_weight": value_weight,
        }
        ours = PLAYERS[kind_a](simulations=simulations, seed=seed, **common)
        them = PLAYERS[kind_b](simulations=other_sims, seed=seed + 1, **{**common, "concurrency": 1})
        if them.name == ours.name:
            them.name = f"{them.name} #2"
        jsonl = folder / "games.jsonl"
        pgn = folder / "games.pgn" if game == "chess" else None

        def keep(record: GameRecord) -> None:
            write_jsonl(jsonl, record)
            if pgn is not None:
                with open(pgn, "a", encoding="utf-8") as handle:
                    handle.write(to_pgn(record) + "\n")

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("W {task.fields[w]}  D {task.fields[d]}  L {task.fields[l]}"),
            TimeElapsedColumn(),
            console=console,
        )
        with progress:
            bar = progress.add_task(f"{game}: {ours.name} vs {them.name}", total=games, w=0, d=0, l=0)

            def tick(result: MatchResult) -> None:
                progress.update(bar, completed=result.games, w=result.wins, d=result.draws, l=result.losses)

            result = await play_match(game, ours, them, games, tick, keep)
    finally:
        if llm is not None:
            await llm.close()

    table = Table(title=f"{game}, {games} games (sides alternate)")
    table.add_column("player", no_wrap=True, min_width=max(len(ours.name), len(them.name)))
    for column in ("wins", "draws", "losses", "score (95% CI)", "sims", "sims/s"):
        table.add_column(column, justify="right")
    for player, (w, d, l_), sims in (
        (ours, (result.wins, result.draws, result.losses), simulations),
        (them, (result.losses, result.draws, result.wins), other_sims),
    ):
        score, low, high = score_interval(w, d, l_)
        searched = bool(player.stats.simulations)
        table.add_row(
            player.name,
            str(w),
            str(d),
            str(l_),
            f"{score:.2f} ({low:.2f}-{high:.2f})",
            str(sims) if searched else "-",
            f"{player.stats.simulations_per_s:,.0f}" if searched else "-",
        )
    console.print(table)
    console.print(
        f"game records: {folder / 'games.jsonl'}" + (f" and {folder / 'games.pgn'}" if game == "chess" else "")
    )
