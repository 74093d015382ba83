"""The game-playing LLM policy under scripted replies: legality, priors from logprobs, value, internal search.

The scripted client hands the policy exactly the replies (and token log-probabilities) a model
could send, malformed and illegal ones included; no server is needed.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

pytest.importorskip("pyspiel")

from treeagent.agents.base import NodeView, Usage
from treeagent.agents.games import GameLLMPolicy, GameLLMValue, InternalSearch, logprob_mass, parse_search
from treeagent.agents.games.players import LLMPlayer
from treeagent.agents.heuristics import RandomRollout, Weighted
from treeagent.agents.llm.types import Choice, Completion, TokenLogprob
from treeagent.environments.games.match import score_interval
from treeagent.environments.games.notation import notation_for
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.search import MCTS


def token(text: str, prob: float, alternatives: dict[str, float] | None = None) -> TokenLogprob:
    top = {text: math.log(prob)} | {t: math.log(p) for t, p in (alternatives or {}).items()}
    return TokenLogprob(text, math.log(prob), top)


def reply(text: str, tokens: list[TokenLogprob] | None = None) -> Choice:
    return Choice(text=text, finish_reason="stop", token_logprobs=tokens)


class ScriptedLLM:
    """Answers each request with the next scripted list of choices and records what was asked."""

    def __init__(self, script: list[list[Choice]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    async def complete(
        self, messages: Any, *, n: int = 1, sampling: Any = None, sink: Any = None, **_: Any
    ) -> Completion:
        self.requests.append({"messages": messages, "n": n, "sampling": sampling})
        if not self.script:
            raise AssertionError("the policy asked more often than scripted")
        usage = Usage(prompt_tokens=100, completion_tokens=2)
        if sink is not None:  # as LLMClient does: the search's meter counts the call
            sink.charge_llm(usage, {"type": "llm"})
        return Completion(choices=self.script.pop(0), usage=usage, requests=1)


async def position(game: str, moves: list[Any]) -> tuple[OpenSpielEnv, Any]:
    env = OpenSpielEnv(game)
    return env, (await env.reset(game_task(game, moves))).state


# -- notation ------------------------------------------------------------------------------------
async def test_notation_names_legal_moves_and_finds_them_in_free_text() -> None:
    env, state = await position("connect_four", [3, 3, 3, 3, 3, 3])  # column 4 is full
    c4 = notation_for("connect_four")
    assert list(c4.move_names(state)) == ["1", "2", "3", "5", "6", "7"]
    assert c4.find(state, "I play column 5.") == 4
    assert c4.find(state, "4") is None and c4.find(state, "column 8") is None and c4.find(state, "") is None
    assert c4.board(state).splitlines()[-1] == "1234567" and c4.side(state) == "x"
    env, state = await position("chess", ["e4", "e5"])
    chess = notation_for("chess")
    assert chess.find(state, "Nf3") == env.parse_action(state, "Nf3")
    assert chess.parse(state, "Nf3+") == env.parse_action(state, "Nf3")
    assert chess.parse(state, "nf3") is None  # SAN is case-sensitive
    assert "FEN: " in chess.board(state) and chess.side(state) == "White"
    _, state = await position("tic_tac_toe", [4])
    assert notation_for("tic_tac_toe").find(state, "square 5") is None  # taken
    assert notation_for("tic_tac_toe").find(state, "square 9") == 8
    _, state = await position("hex", ["c3"])
    hex_ = notation_for("hex")
    assert hex_.find(state, "c3") is None and hex_.find(state, "d4") == hex_.move_names(state)["d4"]
    lines = hex_.board(state).splitlines()
    assert lines[0].split() == list("abcdefghijk") and lines[3].startswith(" 3") and "x" in lines[3]


# -- legality ------------------------------------------------------------------------------------
async def test_model_alone_never_plays_an_illegal_or_unparsable_move() -> None:
    env, state = await position("connect_four", [3, 3, 3, 3, 3, 3])
    llm = ScriptedLLM([[reply("4")], [reply("```json {bad")], [reply("Column 6 looks best")]])
    action, prior = await GameLLMPolicy(llm, attempts=3).choose(env, state)  # type: ignore[arg-type]
    assert action == 5 and prior.choice == 5
    assert prior.illegal == 2 and len(llm.requests) == 3
    # the first request is greedy; retries sample (the same prompt at temperature 0 would repeat itself)
    assert llm.requests[0]["sampling"].temperature == 0.0 and llm.requests[1]["sampling"].temperature == 1.0


async def test_after_the_retries_the_move_falls_back_to_the_prior() -> None:
    env, state = await position("connect_four", [3, 3, 3, 3, 3, 3])
    # illegal text every time, but the first token's alternatives put mass on column 2
    tokens = [token("4", 0.5, {"2": 0.3, "8": 0.1})]
    llm = ScriptedLLM([[reply("4", tokens)], [reply("4!")], [reply("")]])
    player = LLMPlayer(GameLLMPolicy(llm, attempts=3))  # type: ignore[arg-type]
    action = await player.choose(env, [3, 3, 3, 3, 3, 3], await env.reset(game_task("connect_four", [3] * 6)))
    assert action == 1 and player.last_info["source"] == "prior:logprobs"
    assert player.last_info["illegal_replies"] == 3 and len(llm.requests) == 3

    llm = ScriptedLLM([[reply("nonsense")], [reply("x9")]])
    action, prior = await GameLLMPolicy(llm, attempts=2).choose(env, state)  # type: ignore[arg-type]
    assert prior.source == "uniform" and action in env.legal_actions(state)
    assert set(prior.priors) == set(env.legal_actions(state))


# -- priors --------------------------------------------------------------------------------------
async def test_priors_from_logprobs_are_normalised_over_legal_moves_only() -> None:
    env, state = await position("connect_four", [3, 3, 3, 3, 3, 3])  # "4" is illegal now
    first = token("5", 0.4, {"4": 0.2, "3": 0.2, "8": 0.1, "The": 0.05, " ": 0.05})
    llm = ScriptedLLM([[reply("5", [first])]])
    prior = await GameLLMPolicy(llm).prior(env, state)  # type: ignore[arg-type]
    assert prior.source == "logprobs"
    assert set(prior.priors) == set(env.legal_actions(state))
    assert prior.priors[4] == pytest.approx(0.4 / 0.6) and prior.priors[2] == pytest.approx(0.2 / 0.6)
    assert sum(prior.priors.values()) == pytest.approx(1.0)
    assert 3 not in prior.priors  # mass on the full column is dropped, not renormalised onto it
    # the same position again is answered from the cache
    policy = GameLLMPolicy(ScriptedLLM([[reply("5", [first])]]))  # type: ignore[arg-type]
    again = [await policy.prior(env, state) for _ in range(3)]
    assert again[0] is again[2] and policy.cache_hits == 2


def test_multi_token_moves_share_mass_along_the_sampled_path() -> None:
    names = ["Nf3", "Nc3", "e4", "e3", "a3"]
    tokens = [
        token("N", 0.5, {"e": 0.3, "x": 0.2}),  # "e" -> e4, e3 (split); "x" names nothing
        token("f", 0.6, {"c": 0.4}),  # Nc3 gets 0.5 * 0.4
        token("3", 1.0),
        token("\n", 0.9, {" is": 0.1}),  # the move ends here either way ("is" follows a complete Nf3)
    ]
    mass = logprob_mass(tokens, names, case_sensitive=True)
    assert mass["e4"] == pytest.approx(0.15) and mass["e3"] == pytest.approx(0.15)
    assert mass["Nc3"] == pytest.approx(0.2)
    assert mass["Nf3"] == pytest.approx(0.3)
    assert "a3" not in mass


def test_a_reply_that_leaves_the_legal_moves_keeps_only_what_was_read() -> None:
    tokens = [token("I", 0.5, {"3": 0.2}), token(" play", 0.9)]
    assert logprob_mass(tokens, ["1", "2", "3"]) == {"3": pytest.approx(0.2)}
    assert logprob_mass([token("1", 0.5), token("2", 0.9, {"\n": 0.1})], ["1", "2"]) == {"1": pytest.approx(0.05)}


async def test_sampled_frequencies_when_the_server_gives_no_logprobs() -> None:
    env, state = await position("connect_four", [])
    llm = ScriptedLLM([[reply("4"), reply(" 4"), reply("3."), reply("banana")]])
    prior = await GameLLMPolicy(llm, samples=4, logprobs=False).prior(env, state)  # type: ignore[arg-type]
    assert prior.source == "samples" and prior.illegal == 1
    assert prior.priors[3] == pytest.approx(2 / 3) and prior.priors[2] == pytest.approx(1 / 3)
    assert llm.requests[0]["n"] == 4 and llm.requests[0]["sampling"].logprobs is False


async def test_a_server_without_logprobs_gets_its_priors_counted_from_samples() -> None:
    env, state = await position("connect_four", [])
    # the server ignores `logprobs`: the first reply has none, so the policy asks for 4 samples
    llm = ScriptedLLM([[reply("4")], [reply("4"), reply("5"), reply("4"), reply("?")], [reply("3")] * 4])
    policy = GameLLMPolicy(llm)  # type: ignore[arg-type]
    prior = await policy.prior(env, state)
    assert [r["n"] for r in llm.requests] == [1, 4] and llm.requests[1]["sampling"].temperature == 1.0
    assert prior.source == "samples" and prior.priors[3] == pytest.approx(3 / 4) and prior.priors[4] == 0.25
    _, later = await position("connect_four", [3])
    again = await policy.prior(env, later)  # from now on one request of 4 samples per position
    assert llm.requests[2]["n"] == 4 and again.priors[2] == 1.0


async def test_mcts_uses_the_model_priors_as_puct_priors() -> None:
    env = OpenSpielEnv("connect_four")
    first = token("7", 0.7, {"1": 0.1, "4": 0.2})
    # every position gets the same scripted answer; the root's children carry its priors
    llm = ScriptedLLM([[reply("7", [first])] for _ in range(20)])
    policy = GameLLMPolicy(llm, uniform_mix=0.3)  # type: ignore[arg-type]
    controller = MCTS(policy, RandomRollout(seed=1), simulations=6, selection="puct", seed=0)
    result = await controller.run(env, game_task("connect_four"))
    priors = {c.action: c.prior for c in result.tree.root.children}
    assert priors[6] == pytest.approx(0.7 * 0.7 + 0.3 / 7) and priors[2] == pytest.approx(0.3 / 7)
    assert sum(priors.values()) == pytest.approx(1.0)
    # PUCT follows the prior: the favourite column is searched most
    assert max(result.tree.root.children, key=lambda c: c.visits).action == 6
    assert result.stats.llm_calls == len(llm.requests) <= 6


# -- value ---------------------------------------------------------------------------------------
async def test_value_is_the_movers_share_and_mixes_with_rollouts() -> None:
    env, _ = await position("connect_four", [])
    step = await env.reset(game_task("connect_four", [3]))  # x moved: the node's mover is player 0
    answer = [reply("x", [token("x", 0.6, {"o": 0.2, "X": 0.1, "Draw": 0.1})])]
    value = GameLLMValue(ScriptedLLM([answer]))  # type: ignore[arg-type]
    view = NodeView(task=game_task("connect_four", [3]), env=env, step=step, depth=1, mover=0)
    assert await value.value(view) == pytest.approx(0.7 / 0.9)
    view.mover = 1
    assert await value.value(view) == pytest.approx(0.2 / 0.9)  # cached: no second request
    mixed = Weighted((GameLLMValue(ScriptedLLM([answer])), 0.5), (RandomRollout(n=4, seed=0), 0.5))  # type: ignore[arg-type]
    assert 0.0 <= await mixed.value(view) <= 1.0
    silent = GameLLMValue(ScriptedLLM([[reply("maybe", [token("maybe", 1.0)])]]))  # type: ignore[arg-type]
    assert await silent.value(view) == 0.5


# -- internal search -----------------------------------------------------------------------------
async def test_internal_search_reads_the_best_move_or_the_best_valued_legal_line() -> None:
    env, state = await position("connect_four", [3, 3, 3, 3, 3, 3])
    c4 = notation_for("connect_four")
    tree = "Search:\n- 4 -> reply 2 -> value 0.9\n- 2 -> reply 5 -> value 0.7\n- 6 -> reply 1 -> value 0.2\n"
    assert parse_search(c4, state, tree + "Best move: 6") == (5, "best", 3)
    assert parse_search(c4, state, tree + "Best move: 4") == (1, "tree", 3)  # 4 is full
    assert parse_search(c4, state, "I like turtles") == (None, "none", 0)
    fallback = GameLLMPolicy(ScriptedLLM([[reply("3", [token("3", 0.9)])]]))  # type: ignore[arg-type]
    search = InternalSearch(ScriptedLLM([[reply("I like turtles")]]), max_tokens=64, fallback=fallback)  # type: ignore[arg-type]
    found = await search.choose(env, state)
    assert (found.action, found.source) == (2, "prior") and found.prompt_tokens == 200


def test_score_interval_brackets_the_score() -> None:
    score, low, high = score_interval(3, 2, 5)
    assert score == pytest.approx(0.4) and 0.0 < low < 0.4 < high < 1.0
    assert score_interval(0, 0, 0) == (0.0, 0.0, 1.0)
    assert score_interval(10, 0, 0)[2] == 1.0
