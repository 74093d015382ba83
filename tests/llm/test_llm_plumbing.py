"""Config loading, endpoint routing, cassettes and retries: the client's plumbing, no server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from treeagent.agents.base import SearchStop
from treeagent.agents.llm.cassette import Cassette, CassetteMiss, request_key
from treeagent.agents.llm.client import LLMClient, LLMUnavailableError, Sampling
from treeagent.agents.llm.config import LLMConfig, LLMConfigError
from treeagent.agents.llm.endpoints import EndpointPool

from .conftest import free_port


def test_config_precedence_env_file_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "llm.toml"
    cfg.write_text('[llm]\nbase_urls = ["http://a:1"]\nmodel = "from-file"\nmax_concurrency = 3\n')
    monkeypatch.setenv("TREEAGENT_LLM_CONFIG", str(cfg))
    monkeypatch.delenv("TREEAGENT_BASE_URL", raising=False)
    monkeypatch.delenv("TREEAGENT_MODEL", raising=False)
    loaded = LLMConfig.load()
    assert loaded.base_urls == ["http://a:1/v1"] and loaded.model == "from-file" and loaded.max_concurrency == 3
    monkeypatch.setenv("TREEAGENT_BASE_URL", "http://b:2/v1, http://c:3")
    loaded = LLMConfig.load()
    assert loaded.base_urls == ["http://b:2/v1", "http://c:3/v1"]
    assert LLMConfig.load(model="arg", base_urls=None).model == "arg"


def test_config_errors_name_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TREEAGENT_LLM_CONFIG", raising=False)
    monkeypatch.setenv("TREEAGENT_BASE_URL", "localhost:8000")
    with pytest.raises(LLMConfigError, match="must start with http"):
        LLMConfig.load()
    monkeypatch.delenv("TREEAGENT_BASE_URL")
    monkeypatch.setenv("TREEAGENT_LLM_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(LLMConfigError, match="not a file"):
        LLMConfig.load()


def _pool(n: int) -> EndpointPool:
    return EndpointPool.create([f"http://127.0.0.1:{9000 + i}/v1" for i in range(n)], "k", 5, 1, 0.2)


async def test_pool_routes_to_least_busy() -> None:
    pool = _pool(3)
    a, b, c = pool.endpoints
    with pool.use(a), pool.use(a), pool.use(b):
        assert pool.pick() is c
        with pool.use(c), pool.use(c):
            assert pool.pick() is b
    await pool.close()


async def test_pool_evicts_failed_endpoint_and_retries_it_later() -> None:
    pool = _pool(2)
    a, b = pool.endpoints
    pool.mark_failed(a, "APIConnectionError")
    assert all(pool.pick() is b for _ in range(5))
    pool.mark_failed(b, "HTTP 500")
    pool.mark_failed(b, "HTTP 500")  # b's cooldown doubles: a is due back first
    assert pool.pick() is a
    await asyncio.sleep(0.25)
    assert a.healthy(time.monotonic())
    pool.mark_ok(a)
    assert a.failures == 0
    await pool.close()


def test_request_key_ignores_model_and_order() -> None:
    one = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "n": 2, "temperature": 0.5}
    two = {"temperature": 0.5, "n": 2, "messages": [{"role": "user", "content": "hi"}], "model": "y"}
    assert request_key(one) == request_key(two)
    assert request_key(one) != request_key({**one, "n": 3})


async def test_cassette_replays_in_order_and_cycles(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rec = Cassette(path, "record")
    await rec.record("k1", {"n": 1}, {"choices": [{"message": {"content": "first"}}]})
    await rec.record("k1", {"n": 1}, {"choices": [{"message": {"content": "second"}}]})
    assert len(path.read_text().splitlines()) == 2
    play = Cassette(path, "replay")
    texts = [play.lookup("k1")["choices"][0]["message"]["content"] for _ in range(3)]  # type: ignore[index]
    assert texts == ["first", "second", "first"]
    with pytest.raises(CassetteMiss, match="re-record"):
        play.lookup("other")
    assert Cassette(path, "auto").lookup("other") is None


def test_cassette_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="record it first"):
        Cassette(tmp_path / "none.jsonl", "replay")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"nokey": 1}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        Cassette(bad, "replay")


async def test_down_endpoint_gives_clear_error_after_retries() -> None:
    port = free_port()  # nothing listens there: connection refused on every attempt
    config = LLMConfig(base_urls=[f"http://127.0.0.1:{port}/v1"], model="m", max_attempts=3, retry_window_s=20)
    async with LLMClient(config) as llm:
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match="after retries") as info:
            await llm.complete([{"role": "user", "content": "hi"}], sampling=Sampling(max_tokens=4))
        assert time.monotonic() - started < 20
        assert str(port) in str(info.value)
        assert isinstance(info.value, SearchStop)  # a search stops at it instead of failing every node
        assert llm.stats.retries == 2
        assert llm.endpoints[0].failures == 3


async def test_replay_only_client_refuses_unrecorded_request(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    async with LLMClient(LLMConfig(), cassette=Cassette(path, "replay")) as llm:
        with pytest.raises(LookupError, match="no recorded response"):
            await llm.complete([{"role": "user", "content": "hi"}])


async def test_cassette_from_config_replays_without_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.jsonl"
    messages = [{"role": "user", "content": "hi"}]
    sampling = Sampling(max_tokens=4)
    params = {"messages": messages, "n": 1, "temperature": 0.8, "top_p": 0.95, "max_tokens": 4}
    reply = {
        "choices": [{"index": 0, "message": {"content": "hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    await Cassette(path, "record").record(request_key(params), params, reply)
    monkeypatch.delenv("TREEAGENT_BASE_URL", raising=False)
    monkeypatch.delenv("TREEAGENT_LLM_CONFIG", raising=False)
    monkeypatch.setenv("TREEAGENT_CASSETTE", str(path))
    async with LLMClient(LLMConfig.load()) as llm:
        completion = await llm.complete(messages, sampling=sampling)
        assert completion.texts == ["hello"] and llm.stats.replayed == 1
        with pytest.raises(LLMUnavailableError, match="no endpoint configured"):
            await llm.complete([{"role": "user", "content": "unrecorded"}], sampling=sampling)
