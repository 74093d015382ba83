"""Tokens per second of the embedded CPU engine under each thread binding, side by side in one run.

vLLM's CPU build pins its model threads (`VLLM_CPU_OMP_THREADS_BIND`). This starts the embedded
engine once per setting on a free port, sends the same batch of requests (a fixed number of
concurrent greedy completions, the same text under every setting, prefix cache off so every run does the same
work), and prints completion tokens per second for each, with the ratio to `auto` (the default).

    python benchmarks/engine_binding.py [--requests 16] [--concurrency 8] [--max-tokens 128]

Settings: `auto` (vLLM's choice: on 2 cores, threads on core 0 and core 1 kept for its scheduler),
`all` (threads on every core, none reserved: VLLM_CPU_NUM_OF_RESERVED_CPU=0), `nobind` (threads
float). Run it on an otherwise idle machine: other load on the cores changes every figure. The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.vllm_server import ServerConfig, VLLMServer, free_port

PROMPT = [{"role": "user", "content": "Write a Python function that returns the n-th Fibonacci number."}]


def _settings() -> dict[str, dict[str, str]]:
    cores = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    return {
        "auto": {"VLLM_CPU_OMP_THREADS_BIND": "auto"},
        "all": {"VLLM_CPU_OMP_THREADS_BIND": cores, "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"},
        "nobind": {"VLLM_CPU_OMP_THREADS_BIND": "nobind"},
    }


async def _measure(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the engine inherits the launcher's environment
    try:
        config = ServerConfig(port=free_port(), prefix_caching=False)
        async with VLLMServer(config, log=lambda _msg: None) as server:
            llm_config = LLMConfig(base_urls=[server.base_url], request_timeout_s=600, max_concurrency=args.concurrency)
            async with LLMClient(llm_config) as llm:
                await llm.complete(PROMPT, sampling=Sampling(max_tokens=8))  # warm-up
                sampling = Sampling(max_tokens=args.max_tokens, temperature=0.0)
                started = time.perf_counter()
                replies = await asyncio.gather(*(llm.complete(PROMPT, sampling=sampling) for _ in range(args.requests)))
                wall = time.perf_counter() - started
        tokens = sum(r.usage.completion_tokens for r in replies)
        return {"tokens": tokens, "seconds": round(wall, 2), "tokens_per_s": round(tokens / wall, 1)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--settings", default="auto,all,nobind")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.settings.split(",") if s.strip()]
    settings = _settings()
    if unknown := [s for s in wanted if s not in settings]:
        parser.error(f"unknown setting(s) {unknown}; choose from {sorted(settings)}")
    results: dict[str, Any] = {}
    for name in wanted:
        results[name] = await _measure(settings[name], args)
        print(f"{name:<8} {results[name]['tokens_per_s']:>8.1f} tokens/s ({results[name]})", flush=True)
    if "auto" in results:
        base = results["auto"]["tokens_per_s"]
        for row in results.values():
            row["vs_auto"] = round(row["tokens_per_s"] / base, 2) if base else None
        print("ratio to auto: " + ", ".join(f"{n} {r['vs_auto']}" for n, r in results.items()))
    summary = {"cores": sorted(os.sched_getaffinity(0)), "requests": args.requests, "results": results}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    asyncio.run(main())
