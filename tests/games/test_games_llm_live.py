"""The model at the board, live on the real server: a full Connect Four game of LLM-guided MCTS
against a random player (the runnable example), and the model alone through `treeagent play`."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("pyspiel")

from typer.testing import CliRunner

from treeagent.cli.main import app
from treeagent.environments.games.openspiel import OpenSpielEnv
from treeagent.environments.games.records import read_jsonl

pytestmark = pytest.mark.llm
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "games_llm_mcts.py"


def load_example() -> object:
    spec = importlib.util.spec_from_file_location("games_llm_mcts_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.asyncio(loop_scope="session")
async def test_llm_mcts_plays_a_full_connect_four_game_against_random(live_base_url: str, tmp_path: Path) -> None:
    example = load_example()
    out = tmp_path / "games.jsonl"
    result, records = await example.main(live_base_url, simulations=4, games=1, out=out)  # type: ignore[attr-defined]
    assert result.games == 1 and len(records) == 1
    (record,) = records
    assert record == next(iter(read_jsonl(out)))
    assert record.players == ["llm-mcts(4)", "random"]
    # the game was played to its end with legal moves only
    state = OpenSpielEnv("connect_four").game.new_initial_state()
    for move in record.moves:
        assert move.action in state.legal_actions()
        state.apply_action(move.action)
    assert state.is_terminal() and list(state.returns()) == record.returns
    ours = [m for m in record.moves if m.seat == 0]
    assert ours
    for move in ours:
        info = move.info
        assert 1 <= info["simulations"] <= 4
        # priors over the legal moves only, summing to one
        assert math.isclose(sum(info["priors"].values()), 1.0, abs_tol=1e-3)
    # the model was asked (one request per new position; positions seen again come from the cache)
    assert ours[0].info["llm_calls"] >= 1
    assert sum(m.info["llm_calls"] for m in ours) <= 4 * len(ours)


def test_the_model_alone_plays_legal_moves_from_the_command_line(live_base_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "play",
            "tic_tac_toe",
            "--a",
            "llm",
            "--b",
            "random",
            "-n",
            "1",
            "--base-url",
            live_base_url,
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (record,) = read_jsonl(tmp_path / "games.jsonl")
    ours = [m for m in record.moves if record.players[m.seat] == "llm"]
    assert ours
    for move in ours:
        assert move.info["source"] in ("model", "prior:logprobs", "prior:samples", "prior:uniform")
        assert move.info["requests"] >= 1 and move.info["tokens"] > 0
