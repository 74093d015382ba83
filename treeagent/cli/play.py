"""`treeagent play GAME`: MCTS against an opponent, N games, with win/draw/loss and speed."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from treeagent.cli.common import UserError, console, user_errors

OPPONENTS = ("random", "mcts", "openspiel-mcts")


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
) -> None:
    """Play MCTS against random, another MCTS, or OpenSpiel's own MCTS bot."""
    from treeagent.environments.games.openspiel import OpenSpielEnv
    from treeagent.games import MatchResult, MCTSPlayer, OpenSpielMCTSPlayer, Player, RandomPlayer, play_match

    if opponent not in OPPONENTS:
        raise UserError(f"unknown opponent {opponent!r}; choose one of: {', '.join(OPPONENTS)}")
    OpenSpielEnv(game)  # an unknown game fails here, with close matches named
    ours = MCTSPlayer(simulations, exploration, seed, concurrency)
    other_sims = opponent_simulations or simulations
    them: Player
    if opponent == "random":
        them = RandomPlayer(seed + 1)
    elif opponent == "mcts":
        them = MCTSPlayer(other_sims, exploration, seed + 1)
        them.name = f"treeagent-mcts({other_sims}) #2"
    else:
        them = OpenSpielMCTSPlayer(other_sims, exploration, seed + 1)

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

        result = asyncio.run(play_match(game, ours, them, games, tick))

    table = Table(title=f"{game}, {games} games (sides alternate)")
    for column in ("player", "wins", "draws", "losses", "sims/move", "sims/s"):
        table.add_column(column, justify="right" if column != "player" else "left")
    table.add_row(
        ours.name,
        str(result.wins),
        str(result.draws),
        str(result.losses),
        str(simulations),
        f"{ours.stats.simulations_per_s:,.0f}",
    )
    them_speed = f"{them.stats.simulations_per_s:,.0f}" if them.stats.simulations else "-"
    them_sims = str(other_sims) if opponent != "random" else "-"
    table.add_row(them.name, str(result.losses), str(result.draws), str(result.wins), them_sims, them_speed)
    console.print(table)
