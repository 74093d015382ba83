"""The game policy on recorded real replies of the served model (SmolLM2-135M-Instruct via vLLM):
priors read from real tokenisations (multi-token SAN and Hex cells), the model's value, internal search.

Re-record with TREEAGENT_RECORD=1 TREEAGENT_BASE_URL=... (tests/cassette_clients.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspiel")

from tests.cassette_clients import CassetteClients
from treeagent.agents.base import NodeView
from treeagent.agents.games import GameLLMPolicy, GameLLMValue, InternalSearch
from treeagent.agents.llm.client import LLMClient
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task

pytestmark = pytest.mark.asyncio(loop_scope="session")
CASSETTES = Path(__file__).parent / "cassettes"
MakeLLM = Callable[..., LLMClient]


@pytest.fixture
async def games_cassette() -> AsyncIterator[MakeLLM]:
    clients = CassetteClients(CASSETTES)
    yield clients.make
    await clients.close()


POSITIONS: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("chess", {}, ["e4"]),
    ("hex", {"board_size": 5}, ["c3"]),
    ("tic_tac_toe", {}, [4]),
    ("connect_four", {}, [3, 3, 2]),
]


@pytest.mark.parametrize(("game", "params", "moves"), POSITIONS, ids=[p[0] for p in POSITIONS])
async def test_real_replies_give_priors_over_exactly_the_legal_moves(
    games_cassette: MakeLLM, game: str, params: dict[str, Any], moves: list[Any]
) -> None:
    env = OpenSpielEnv(game, params)
    state = (await env.reset(game_task(game, moves, params))).state
    policy = GameLLMPolicy(games_cassette(f"games_priors_{game}"))
    action, prior = await policy.choose(env, state)
    legal = env.legal_actions(state)
    assert action in legal
    assert prior.source == "logprobs"  # vLLM returns top_logprobs: priors come from them
    assert set(prior.priors) == set(legal)
    assert sum(prior.priors.values()) == pytest.approx(1.0)
    assert sum(1 for p in prior.priors.values() if p > 0) >= 2  # alternatives were read, not just the reply
    if prior.choice is None:  # every reply was illegal: the prior's best was played
        assert action == prior.best() and prior.illegal == prior.requests


async def test_real_value_and_internal_search_on_chess(games_cassette: MakeLLM) -> None:
    llm = games_cassette("games_value_internal")
    env = OpenSpielEnv("chess")
    step = await env.reset(game_task("chess", ["e4", "e5", "Qh5", "Nc6", "Bc4", "Nf6"]))
    view = NodeView(task=game_task("chess"), env=env, step=step, depth=6, mover=0)  # Black just moved
    judge = GameLLMValue(llm)
    value = await judge.value(view)
    black, white = await judge.odds(view)  # (player 0, player 1): OpenSpiel's chess seats Black first
    assert 0.0 <= value <= 1.0 and white + black > 0.0
    assert value == pytest.approx(black / (white + black))
    found = await InternalSearch(llm, max_tokens=48).choose(env, step.state)
    assert found.action in env.legal_actions(step.state)
    assert found.source in ("best", "tree", "prior") and found.completion_tokens > 0
