"""Against the real vLLM CPU server serving the embedded model (`scripts/vllm.sh start`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from pydantic import BaseModel, Field

from treeagent.agents.base import NodeView
from treeagent.agents.llm.client import ContextLengthError, LLMClient, Sampling
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.engine_cores import read_claims
from treeagent.agents.llm.process_groups import group_alive
from treeagent.agents.llm.vllm_server import (
    ServerConfig,
    ServerStartError,
    VLLMServer,
    answers,
    pid_path,
    run_dir,
    serve_or_connect,
    start_background,
    stop_background,
)
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.reflector import LLMReflector
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import MCTS, Budget, read_records

from .conftest import RecordingSink, free_port

pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]

HELLO = [{"role": "user", "content": "Write a one-line greeting."}]


async def test_n_sampling_returns_n_distinct_choices(live_llm: LLMClient, sink: RecordingSink) -> None:
    completion = await live_llm.complete(HELLO, n=4, sampling=Sampling(temperature=1.0, max_tokens=24), sink=sink)
    assert len(completion.choices) == 4 and completion.requests == 1
    assert len(set(completion.texts)) >= 2
    assert len(sink.records) == 1 and sink.records[0]["returned"] == 4
    assert sink.usages[0].completion_tokens == completion.usage.completion_tokens > 0


class Verdict(BaseModel):
    label: str = Field(max_length=12)
    confidence: int = Field(ge=0, le=9)


async def test_structured_output_follows_the_schema(live_llm: LLMClient) -> None:
    messages = [{"role": "user", "content": "Is the sky green? Give a label and a confidence."}]
    completion = await live_llm.complete(messages, n=3, schema=Verdict, sampling=Sampling(max_tokens=60))
    finished = [c for c in completion.choices if c.finish_reason == "stop"]
    assert finished
    for choice in finished:
        Verdict.model_validate_json(choice.text)


async def test_logprobs_are_summed_per_choice(live_llm: LLMClient) -> None:
    completion = await live_llm.complete(HELLO, n=2, sampling=Sampling(max_tokens=6, logprobs=True, top_logprobs=2))
    for choice in completion.choices:
        assert choice.logprob is not None and choice.logprob <= 0.0
        assert choice.tokens is not None and 1 <= choice.tokens <= 6


async def test_context_length_error_is_reported_as_such(live_llm: LLMClient) -> None:
    too_long = [{"role": "user", "content": "word " * 2500}]
    with pytest.raises(ContextLengthError, match="context"):
        await live_llm.complete(too_long, sampling=Sampling(max_tokens=8))
    assert live_llm.stats.retries == 0  # not a transient: no retry


async def test_prefix_cache_hits_on_shared_prompt(live_llm: LLMClient) -> None:
    shared = "Background facts: " + " ".join(f"item {i} is blue." for i in range(150))
    first = await live_llm.complete(
        [{"role": "user", "content": shared + "\nQuestion A?"}], sampling=Sampling(max_tokens=4)
    )
    second = await live_llm.complete(
        [{"role": "user", "content": shared + "\nQuestion B?"}], sampling=Sampling(max_tokens=4)
    )
    assert second.usage.cached_tokens >= first.usage.prompt_tokens // 2


async def test_dead_endpoint_is_taken_out_of_rotation(live_base_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config = LLMConfig(base_urls=[dead, live_base_url], endpoint_cooldown_s=30, max_attempts=4)
    async with LLMClient(config) as llm:
        results = await asyncio.gather(*(llm.complete(HELLO, sampling=Sampling(max_tokens=4)) for _ in range(6)))
        assert all(len(r.choices) == 1 for r in results)
        down, live = llm.endpoints
        assert down.failures >= 1 and down.served == 0
        assert live.served >= 6


async def test_serve_or_connect_uses_the_running_server(live_base_url: str) -> None:
    async with serve_or_connect(live_base_url) as server:
        assert not server.owned and server.base_url == live_base_url


async def test_small_search_end_to_end(live_llm: LLMClient, tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    controller = MCTS(
        policy=LLMPolicy(live_llm),
        evaluator=LLMSelfEvaluator(live_llm, votes=2),
        reflector=LLMReflector(live_llm),
        budget=Budget(max_expansions=5),
        concurrency=4,
        children_per_expansion=3,
        evaluate="children",
        trace=trace,
    )
    result = await controller.run(Game24Env(), game24_task([4, 9, 10, 13]))
    assert result.stats.expansions >= 1 and result.stats.llm_calls >= 2
    assert result.stats.completion_tokens > 0
    llm_records = [r for r in read_records(trace) if r.get("type") == "llm"]
    assert len(llm_records) == result.stats.llm_requests
    assert sum(r["returned"] for r in llm_records) == result.stats.llm_calls
    assert {"propose", "evaluate"} <= {r["tag"] for r in llm_records}


@pytest.mark.slow
@pytest.mark.timeout(900)  # an engine start takes ~40 s alone, minutes on a crowded machine
async def test_requests_survive_a_server_restart(live_base_url: str) -> None:
    port = urlparse(live_base_url).port or 80
    if not pid_path(port).exists():
        pytest.skip("the server was not started by scripts/vllm.sh on this machine; cannot restart it")
    config = LLMConfig(base_urls=[live_base_url], max_attempts=1000, retry_window_s=800, request_timeout_s=60)
    async with LLMClient(config) as llm:
        assert await llm.model_name()  # asked while up: the request below needs no /models call
        await stop_background(port)
        pending = asyncio.create_task(llm.complete(HELLO, sampling=Sampling(max_tokens=4)))
        await asyncio.sleep(2)
        assert not pending.done()  # retrying, not failed, while the server is down
        await start_background(ServerConfig(port=port))
        completion = await asyncio.wait_for(pending, timeout=180)
        assert len(completion.choices) == 1
        assert llm.stats.retries >= 1


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_two_engines_side_by_side_answer_each_on_cores_of_its_own(live_base_url: str) -> None:
    first = urlparse(live_base_url).port or 80
    held = read_claims(run_dir(), group_alive)
    if first not in held:
        pytest.skip("the suite's server was not started by treeagent on this machine: it left no claim")
    free = os.sched_getaffinity(0) - set().union(*held.values())
    lines: list[str] = []
    async with VLLMServer(ServerConfig(port=free_port()), log=lines.append) as second:
        now = read_claims(run_dir(), group_alive)
        port = urlparse(second.base_url).port
        assert port in now, now
        if free:  # pinned to cores no other engine holds, and it says which
            assert now[port] and now[port] <= free and not now[port] & now[first], now
            reported = [line for line in lines if "engine threads on core(s)" in line]
            assert reported and str(sorted(now[port])) in reported[0]
        else:  # every core is held (a developer's engines): its threads float rather than crowd one
            assert now[port] == set(), now
            assert any("nobind" in line for line in lines), lines
        for url in (live_base_url, second.base_url):
            async with LLMClient(LLMConfig(base_urls=[url])) as llm:
                reply = await llm.complete(HELLO, sampling=Sampling(max_tokens=4))
                assert len(reply.choices) == 1
    assert port not in read_claims(run_dir(), group_alive)  # stopped: its claim is gone


async def test_policy_on_live_server_gives_legal_moves(live_llm: LLMClient) -> None:
    env = Game24Env()
    task = game24_task([1, 2, 3, 4])
    view = NodeView(task=task, env=env, step=await env.reset(task), depth=0)
    proposals = await LLMPolicy(live_llm).propose(view, 4)
    legal = {env.action_key(a) for a in env.legal_actions(view.state) or []}
    good = [p for p in proposals if p.error is None]
    assert good and all(env.action_key(p.action) in legal for p in good)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_context_manager_starts_and_stops_the_whole_group() -> None:
    config = ServerConfig(port=free_port())
    try:
        async with serve_or_connect(config=config) as server:
            assert server.owned and server.pid is not None
            assert await answers(server.base_url)
            group = server.pid
    except ServerStartError as exc:
        if "memory" in str(exc):
            pytest.skip(f"not enough memory for a second engine: {exc}")
        raise
    assert not group_alive(group)  # the API server, the engine core and its workers are all gone
    assert not await answers(server.base_url)
