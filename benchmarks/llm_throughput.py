"""How close a tree search gets to the engine's saturated generation rate.

In one run against the local vLLM server (started here when none is configured):
  (a) saturated: the requests of run (c), recorded, sent again with no dependencies between
      them, copied until 32 (quick) or 64 slots are full: the engine's ceiling in completion
      tokens/s for this very workload (same prompts, same reply lengths);
  (b) sequential: a LATS-style MCTS (LLM policy, LLM self-evaluation, reflection) driven one
      model call and one sample at a time, as the published implementations do;
  (c) ours: the same search with concurrent simulations (virtual loss), n-sampled siblings in one
      request and one request for all the votes.
Every phase runs in its own prompt namespace (a nonce in the system prompt), so none rides on the
prefix cache another phase warmed. Prints the figures side by side, then one JSON line with the
ratios. The prefix-cache hit rate is read from the engine's /metrics over run (c).

    python benchmarks/llm_throughput.py [--quick] [--base-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from treeagent.agents.llm.cassette import Cassette
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.vllm_server import serve_or_connect
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.prompts import DEFAULT_TEMPLATE
from treeagent.agents.reflector import LLMReflector
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import MCTS, Budget

PUZZLES = [[4, 9, 10, 13], [1, 4, 8, 8], [3, 3, 8, 8], [2, 5, 7, 11], [1, 5, 6, 11], [4, 4, 7, 7]]
CHILDREN = 5  # LATS samples 5 children per expansion
SEARCH_CONCURRENCY = 16
VOTES = 2


@dataclass(slots=True)
class Phase:
    name: str
    completion_tokens: int = 0
    prompt_tokens: int = 0
    requests: int = 0
    expansions: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


async def metrics(base_url: str) -> dict[str, float]:
    """The engine's counters (Prometheus text) we need: prefix-cache queries and hits, in tokens."""
    root = base_url.rstrip("/").removesuffix("/v1")
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(root + "/metrics")).text
    out: dict[str, float] = {}
    for name in ("vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total", "vllm:num_requests_running"):
        values = re.findall(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.MULTILINE)
        out[name] = sum(float(v) for v in values)
    return out


async def foreign(base_url: str) -> float:
    """Requests the engine runs while none of ours is in flight (someone else's load skews the
    figures); the smaller of two samples a second apart, as the gauge may lag."""
    first = (await metrics(base_url))["vllm:num_requests_running"]
    await asyncio.sleep(1.0)
    return min(first, (await metrics(base_url))["vllm:num_requests_running"])


async def saturated(base_url: str, requests: list[dict[str, Any]], concurrency: int, copies: int) -> Phase:
    """Completion tokens/s for `requests` (the search's own, recorded) sent with no dependencies
    between them, `concurrency` at a time: the engine's ceiling for this very workload."""
    phase = Phase("saturated")
    config = LLMConfig(base_urls=[base_url], max_concurrency=concurrency, request_timeout_s=300)
    async with LLMClient(config) as llm:
        model = await llm.model_name()
        client = llm.endpoints[0].client
        slots = asyncio.Semaphore(concurrency)

        async def send(request: dict[str, Any]) -> None:
            async with slots:
                response = await client.chat.completions.create(model=model, **request)
            phase.requests += 1
            if response.usage is not None:
                phase.completion_tokens += response.usage.completion_tokens
                phase.prompt_tokens += response.usage.prompt_tokens

        # A fresh nonce before every prompt (as each search phase has): the engine has cached these
        # prompts during run (c), so without it the replay would skip prefills the search had to
        # pay for. Shared prefixes among the replayed requests still hit, as during the search.
        # The set is repeated (each copy with its own nonce), so the figure is the engine's
        # ceiling rather than the tail of a short burst.
        fresh = []
        for _ in range(copies):
            nonce = f"[{uuid.uuid4().hex[:8]}] "
            for request in requests:
                messages = [dict(m) for m in request["messages"]]
                messages[0]["content"] = nonce + str(messages[0]["content"])
                fresh.append({**request, "messages": messages})
        started = time.perf_counter()
        await asyncio.gather(*(send(r) for r in fresh))
        phase.seconds = time.perf_counter() - started
    return phase


async def search(base_url: str, name: str, seconds: float, sequential: bool, record: Path | None = None) -> Phase:
    """MCTS with LLM policy + self-evaluation + reflection over the puzzles, for about `seconds`."""
    config = LLMConfig(
        base_urls=[base_url],
        request_timeout_s=120,
        max_concurrency=1 if sequential else 64,
        max_n_per_request=1 if sequential else None,  # one sample per call, as LATS' loop does
    )
    phase = Phase(name)
    # Each phase gets its own prompt namespace, so no phase rides on another's prefix cache. The
    # legal moves are not listed in the prompt: guided decoding already restricts the reply to them.
    template = DEFAULT_TEMPLATE.with_(system=f"[{uuid.uuid4().hex[:8]}] {DEFAULT_TEMPLATE.system}", max_legal_listed=0)
    cassette = Cassette(record, "record") if record is not None else None
    async with LLMClient(config, cassette=cassette) as llm:
        await llm.model_name()
        started = time.perf_counter()
        for numbers in PUZZLES * 10:
            left = seconds - (time.perf_counter() - started)
            if left <= 1:
                break
            controller = MCTS(
                policy=LLMPolicy(llm, template=template),
                evaluator=LLMSelfEvaluator(llm, votes=VOTES, template=template),
                reflector=LLMReflector(llm, template=template),
                budget=Budget(max_seconds=left),
                concurrency=1 if sequential else SEARCH_CONCURRENCY,
                children_per_expansion=CHILDREN,
                evaluate="children",
                max_depth=3,
                seed=0,
            )
            result = await controller.run(Game24Env(), game24_task(numbers))
            phase.expansions += result.stats.expansions
        phase.seconds = time.perf_counter() - started
        phase.completion_tokens = llm.stats.completion_tokens
        phase.prompt_tokens = llm.stats.prompt_tokens
        phase.requests = llm.stats.requests
    return phase


async def main(args: argparse.Namespace) -> dict[str, Any]:
    seconds = 15.0 if args.quick else 60.0
    async with serve_or_connect(args.base_url) as server:
        url = server.base_url
        print(f"endpoint: {url} ({'started here' if server.owned else 'already running'})", file=sys.stderr)
        # warm-up: first structured-output grammar compiles, first prefill
        await search(url, "warm-up", 4.0, sequential=False)
        others = [await foreign(url)]
        seq = await search(url, "sequential", seconds, sequential=True)
        others.append(await foreign(url))
        with tempfile.TemporaryDirectory() as tmp:
            recorded = Path(tmp) / "ours.jsonl"
            before = await metrics(url)
            ours = await search(url, "ours", seconds, sequential=False, record=recorded)
            after = await metrics(url)
            requests = [json.loads(line)["request"] for line in recorded.read_text().splitlines()]
        concurrency = args.concurrency or (32 if args.quick else 64)
        copies = max(1, -(-concurrency // max(1, len(requests))))  # enough to fill the slots
        others.append(await foreign(url))
        sat = await saturated(url, requests, concurrency, copies)
    if max(others) > 0:
        print(
            f"warning: the engine was serving up to {max(others):.0f} requests of someone else between "
            "phases; these figures are not reliable (use a private server: --base-url)",
            file=sys.stderr,
        )
    queries = after["vllm:prefix_cache_queries_total"] - before["vllm:prefix_cache_queries_total"]
    hits = after["vllm:prefix_cache_hits_total"] - before["vllm:prefix_cache_hits_total"]
    print(f"{'phase':<12}{'tok/s':>10}{'compl tok':>11}{'prompt tok':>12}{'requests':>10}{'expansions':>12}{'s':>8}")
    for p in (sat, seq, ours):
        print(
            f"{p.name:<12}{p.rate:>10.1f}{p.completion_tokens:>11}{p.prompt_tokens:>12}"
            f"{p.requests:>10}{p.expansions:>12}{p.seconds:>8.1f}"
        )
    return {
        "saturated_tokens_per_s": round(sat.rate, 2),
        "sequential_search_tokens_per_s": round(seq.rate, 2),
        "ours_search_tokens_per_s": round(ours.rate, 2),
        "speedup_vs_sequential": round(ours.rate / seq.rate, 3) if seq.rate else None,
        "utilization": round(ours.rate / sat.rate, 3) if sat.rate else None,
        "prefix_cache_hit_rate": round(hits / queries, 3) if queries else None,
        "sequential_expansions_per_s": round(seq.expansions / seq.seconds, 3) if seq.seconds else None,
        "ours_expansions_per_s": round(ours.expansions / ours.seconds, 3) if ours.seconds else None,
        "foreign_requests_seen": int(max(others)),
        "seconds_per_phase": seconds,
        "quick": args.quick,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about one minute; the same ratios")
    parser.add_argument("--base-url", default=None, help="endpoint (default: TREEAGENT_BASE_URL or start one)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight for the saturated rate (32 quick, 64 full)"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
