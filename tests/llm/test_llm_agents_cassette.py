"""Policy, evaluator, reflector and a small search on recorded real responses (no server needed).

The cassettes under tests/llm/cassettes/ were recorded from the embedded SmolLM2-135M-Instruct on
vLLM CPU; re-record with `TREEAGENT_RECORD=1 TREEAGENT_BASE_URL=... pytest tests/llm -k cassette`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from tests.cassette_clients import RECORDING
from treeagent.agents.base import NodeView, TrajectoryStep
from treeagent.agents.llm.cassette import Cassette
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.parsing import parse_score
from treeagent.agents.prompts import PromptTemplate
from treeagent.agents.reflector import LLMReflector
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import MCTS, Budget, read_records

from .conftest import RecordingSink

# one event loop for the session: clients and the server fixture outlive a single test
pytestmark = pytest.mark.asyncio(loop_scope="session")

MakeLLM = Callable[..., LLMClient]


async def _root_view(numbers: list[int], sink: RecordingSink | None = None, tried: tuple[object, ...] = ()) -> NodeView:
    env = Game24Env()
    task = game24_task(numbers)
    return NodeView(task=task, env=env, step=await env.reset(task), depth=0, tried=tried, usage=sink)


async def test_policy_proposes_distinct_legal_actions_with_priors(cassette_llm: MakeLLM, sink: RecordingSink) -> None:
    llm = cassette_llm("policy_legal")
    view = await _root_view([4, 9, 10, 13], sink)
    proposals = await LLMPolicy(llm).propose(view, 6)
    legal = {view.env.action_key(a) for a in view.env.legal_actions(view.state) or []}
    keys = [view.env.action_key(p.action) for p in proposals if p.error is None]
    assert proposals and len(keys) == len(set(keys))
    assert set(keys) <= legal
    priors = [p.prior for p in proposals if p.error is None]
    assert abs(sum(p or 0.0 for p in priors) - 1.0) < 1e-9
    assert priors == sorted(priors, reverse=True)
    # one request, charged once, with the sampled texts in the trace record
    assert len(sink.records) == 1 and sink.records[0]["n"] == 6 and sink.records[0]["tag"] == "propose"
    assert sink.usages[0].prompt_tokens > 0 and sink.usages[0].completion_tokens > 0
    assert llm.stats.requests == 1 and llm.stats.replayed == (0 if RECORDING else 1)


async def test_policy_caps_every_action_at_max_samples(cassette_llm: MakeLLM, sink: RecordingSink) -> None:
    """MCTS asks for every legal action on a game (k = their number); a model policy samples at
    most max_samples."""
    llm = cassette_llm("policy_legal")  # the same request as above: n=6 for the same root
    view = await _root_view([4, 9, 10, 13], sink)
    legal = len(view.env.legal_actions(view.state) or [])
    assert legal > 6
    proposals = await LLMPolicy(llm, max_samples=6).propose(view, legal)
    assert proposals and sink.records[0]["n"] == 6
    with pytest.raises(ValueError, match="max_samples"):
        LLMPolicy(llm, max_samples=0)


async def test_policy_shows_and_skips_tried_siblings(cassette_llm: MakeLLM) -> None:
    first = await _root_view([1, 2, 3, 4])
    llm = cassette_llm("policy_tried")
    policy = LLMPolicy(llm, sampling=Sampling(temperature=1.0, max_tokens=40))
    earlier = [p.action for p in await policy.propose(first, 4) if p.error is None]
    assert earlier
    view = await _root_view([1, 2, 3, 4], tried=tuple(earlier))
    prompt = PromptTemplate().propose_messages(view, structured=True)[-1]["content"]
    assert all(str(a) in prompt for a in earlier)
    assert prompt.rstrip().endswith(PromptTemplate().propose_json)  # the varying part comes last
    again = await policy.propose(view, 4)
    tried_keys = {view.env.action_key(a) for a in earlier}
    assert all(view.env.action_key(p.action) not in tried_keys for p in again if p.error is None)


async def test_unparseable_free_text_becomes_failed_proposals(cassette_llm: MakeLLM) -> None:
    llm = cassette_llm("policy_free_text")
    view = await _root_view([4, 9, 10, 13])
    policy = LLMPolicy(llm, constrain_legal=False, sampling=Sampling(temperature=1.0, max_tokens=48))
    proposals = await policy.propose(view, 6)
    assert proposals  # never raises; every reply is an action or an error
    for p in proposals:
        assert (p.error is None) != (p.action is None)
        if p.error is not None:
            assert p.text  # the raw reply is kept for the trace
    errors = [p.error for p in proposals if p.error is not None]
    assert errors, "the recorded replies hold free text that is not a move"
    assert all("not a valid action" in e or "empty reply" in e for e in errors)


class Answer(BaseModel):
    reasoning: str = Field(max_length=200)
    result: int = Field(ge=0, le=100)


async def test_structured_schema_replies_validate(cassette_llm: MakeLLM) -> None:
    llm = cassette_llm("structured")
    messages = [{"role": "user", "content": "What is 7 + 5? Reply in JSON with reasoning and result."}]
    completion = await llm.complete(messages, n=3, schema=Answer, sampling=Sampling(max_tokens=120))
    assert len(completion.choices) == 3
    for choice in completion.choices:
        if choice.finish_reason == "stop":
            Answer.model_validate_json(choice.text)


async def test_top_up_when_server_caps_n(cassette_llm: MakeLLM, sink: RecordingSink) -> None:
    llm = cassette_llm("top_up", max_n_per_request=2)
    completion = await llm.complete(
        [{"role": "user", "content": "Name a colour."}], n=5, sampling=Sampling(max_tokens=8), sink=sink
    )
    assert len(completion.choices) == 5 and completion.requests == 3
    assert sorted(r["n"] for r in sink.records) == [1, 2, 2]
    assert llm.stats.top_ups == 2
    assert completion.usage.completion_tokens == sum(u.completion_tokens for u in sink.usages)


async def test_self_evaluation_is_mean_of_votes(cassette_llm: MakeLLM, sink: RecordingSink) -> None:
    llm = cassette_llm("evaluate")
    env = Game24Env()
    task = game24_task([4, 9, 10, 13])
    root = await env.reset(task)
    step = await env.step(root.state, "13 - 9 = 4")
    view = NodeView(
        task=task,
        env=env,
        step=step,
        depth=1,
        usage=sink,
        trajectory_source=[TrajectoryStep("13 - 9 = 4", "13 - 9 = 4", step.observation)],
    )
    value = await LLMSelfEvaluator(llm, votes=4).value(view)
    texts = sink.records[0]["texts"]
    scores = [s for s in (parse_score(t, 0, 10) for t in texts) if s is not None]
    expected = sum(scores) / len(scores) / 10 if scores else 0.5
    assert abs(value - expected) < 1e-9 and 0.0 <= value <= 1.0
    assert sink.records[0]["n"] == 4


async def test_terminal_node_is_scored_by_the_environment(tmp_path: Path, sink: RecordingSink) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    llm = LLMClient(LLMConfig(), cassette=Cassette(empty, "replay"))  # any request would be a miss
    env = Game24Env()
    task = game24_task([2, 12])
    root = await env.reset(task)
    done = await env.step(root.state, "2 * 12 = 24")
    view = NodeView(task=task, env=env, step=done, depth=1, usage=sink)
    assert await LLMSelfEvaluator(llm).value(view) == 1.0
    assert sink.records == []


async def test_reflection_is_short(cassette_llm: MakeLLM) -> None:
    llm = cassette_llm("reflect")
    env = Game24Env()
    task = game24_task([4, 9, 10, 13])
    state = (await env.reset(task)).state
    path = []
    for move in ["13 + 10 = 23", "9 - 4 = 5", "23 + 5 = 28"]:
        step = await env.step(state, move)
        path.append(TrajectoryStep(move, move, step.observation))
        state = step.state
    view = NodeView(task=task, env=env, step=step, depth=3, trajectory_source=path)
    lesson = await LLMReflector(llm, max_chars=120).reflect(view)
    assert lesson and len(lesson) <= 120 and "\n" not in lesson


async def test_search_replays_without_a_model(cassette_llm: MakeLLM, tmp_path: Path) -> None:
    results = []
    for run in range(2):
        llm = cassette_llm("search_mcts")
        controller = MCTS(
            policy=LLMPolicy(llm),
            evaluator=LLMSelfEvaluator(llm, votes=2),
            budget=Budget(max_expansions=4),
            children_per_expansion=3,
            evaluate="children",
            trace=tmp_path / f"run{run}.jsonl",
        )
        result = await controller.run(Game24Env(), game24_task([4, 9, 10, 13]))
        results.append(result)
        # a request the cassette lacks fails its node: the controller changed, re-record
        assert result.stats.failed_nodes == 0, "cassette out of date: re-record with TREEAGENT_RECORD=1"
        assert result.stats.llm_requests == llm.stats.requests > 0
        assert result.stats.prompt_tokens == llm.stats.prompt_tokens
        llm_records = [r for r in read_records(tmp_path / f"run{run}.jsonl") if r.get("type") == "llm"]
        assert len(llm_records) == llm.stats.requests
        # an LLM call is one sampled completion: the requests asked for n=3 and 2 votes
        assert result.stats.llm_calls == sum(r["returned"] for r in llm_records) > llm.stats.requests
    assert results[0].best_actions == results[1].best_actions
    assert results[0].stats.expansions == results[1].stats.expansions
