"""Game records: JSONL for every game and PGN for chess round-trip; `treeagent play` writes them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("pyspiel")
chess = pytest.importorskip("chess")

from typer.testing import CliRunner  # noqa: E402

from treeagent.agents.games.players import RandomPlayer  # noqa: E402
from treeagent.cli.main import app  # noqa: E402
from treeagent.environments.games.match import play_match  # noqa: E402
from treeagent.environments.games.notation import notation_for  # noqa: E402
from treeagent.environments.games.openspiel import OpenSpielEnv  # noqa: E402
from treeagent.environments.games.records import GameRecord, from_pgn, read_jsonl, to_pgn, write_jsonl  # noqa: E402
from treeagent.players import MCTSPlayer  # noqa: E402

runner = CliRunner()


def replay(record: GameRecord) -> list[float]:
    """Play the record's actions in OpenSpiel, checking each is legal and named as recorded."""
    env = OpenSpielEnv(record.game)
    notation = notation_for(record.game)
    state = env.game.new_initial_state()
    for move in record.moves:
        assert move.seat == state.current_player()
        assert move.action in state.legal_actions()
        assert notation.move_name(state, move.action) == move.text
        state.apply_action(move.action)
    assert state.is_terminal()
    return [float(r) for r in state.returns()]


def match_records(game: str, a: object, b: object, games: int) -> list[GameRecord]:
    records: list[GameRecord] = []
    asyncio.run(play_match(game, a, b, games, on_record=records.append))  # type: ignore[arg-type]
    return records


def test_jsonl_round_trips_moves_names_search_stats_and_results(tmp_path: Path) -> None:
    records = match_records("tic_tac_toe", MCTSPlayer(50, seed=1), RandomPlayer(2), 2)
    path = tmp_path / "games.jsonl"
    for record in records:
        write_jsonl(path, record)
    back = list(read_jsonl(path))
    assert back == records
    assert [r.players for r in back] == [["treeagent-mcts(50)", "random"], ["random", "treeagent-mcts(50)"]]
    for record in back:
        assert replay(record) == record.returns
        ours = [m for m in record.moves if record.players[m.seat].startswith("treeagent-mcts")]
        assert ours and all(1 <= m.info["simulations"] <= 50 and m.info["visits"] >= 1 for m in ours)
    path.write_text(path.read_text() + '{"game": 3}\n')
    with pytest.raises(ValueError, match=r"games.jsonl:3: not a game record"):
        list(read_jsonl(path))


def test_chess_pgn_round_trips_and_names_white_and_black() -> None:
    (record,) = match_records("chess", RandomPlayer(7), RandomPlayer(8), 1)
    record.moves[0].info = {"simulations": 4, "visits": {"e4": 3}, "value": 0.5}
    text = to_pgn(record)
    game = chess.pgn.read_game(__import__("io").StringIO(text))
    # OpenSpiel seats White as player 1: the second seat's player is White in the PGN
    assert (game.headers["White"], game.headers["Black"]) == ("random", "random")
    board = game.board()
    for move in game.mainline_moves():
        board.push(move)
    white = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}[game.headers["Result"]]
    assert white == record.returns[1]
    (back,) = from_pgn(text)
    assert back.actions == record.actions and back.returns == record.returns
    assert [m.text for m in back.moves] == [m.text for m in record.moves]
    assert back.moves[0].info == {"simulations": 4, "value": 0.5}  # scalar stats travel as the comment
    assert replay(back) == record.returns
    with pytest.raises(ValueError, match="PGN is for chess"):
        to_pgn(GameRecord(game="connect_four", players=["a", "b"]))


def test_play_writes_jsonl_for_all_games_and_pgn_for_chess(tmp_path: Path) -> None:
    out = tmp_path / "chess"
    result = runner.invoke(app, ["play", "chess", "--a", "random", "--b", "random", "-n", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "score (95% CI)" in result.output
    (record,) = read_jsonl(out / "games.jsonl")
    (from_file,) = from_pgn((out / "games.pgn").read_text())
    assert from_file.actions == record.actions and from_file.returns == record.returns

    out = tmp_path / "c4"
    result = runner.invoke(
        app,
        [
            "play",
            "connect_four",
            "--a",
            "uniform-mcts",
            "--b",
            "random",
            "-n",
            "2",
            "--simulations",
            "30",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = list(read_jsonl(out / "games.jsonl"))
    assert len(records) == 2 and not (out / "games.pgn").exists()
    ours = [m for r in records for m in r.moves if r.players[m.seat] == "uniform-mcts(30)"]
    assert ours and all(1 <= m.info["simulations"] <= 30 for m in ours)  # the solver may stop early
    assert all(sum(m.info["visits"].values()) <= m.info["simulations"] for m in ours)
    for record in records:
        assert replay(record) == record.returns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["play", "tic_tac_toe", "--a", "gnugo"], "unknown player 'gnugo'"),
        (["play", "tic_tac_toe", "--a", "llm", "--b", "random"], "the llm players need a model server"),
    ],
)
def test_bad_players_are_one_clear_line(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TREEAGENT_BASE_URL", raising=False)
    monkeypatch.delenv("TREEAGENT_LLM_CONFIG", raising=False)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
