"""Async client for OpenAI-compatible endpoints, built to keep an inference engine saturated.

One client is shared by a whole search: it holds the concurrency limit, the endpoint pool and the
usage totals. `complete(messages, n=k)` asks for k siblings in one request (they share one prefill)
and tops up with further requests when a server returns fewer choices than asked. Transient
failures (connection errors, timeouts, 429, 5xx) are retried with exponential backoff and jitter,
possibly on another endpoint; after the retries a clear `LLMUnavailableError` is raised, never a
hang. Prompts over the model's context raise `ContextLengthError`.

Budgets: one LLM call is one sampled completion. Given a `UsageSink`, `complete` reserves its n
completions from the sink before anything is sent, shrinks n to what was granted, raises
`BudgetExhausted` (sending nothing) when none was, charges each HTTP request's completions and
tokens to the sink, and releases the grants it did not use (a failed request, a short reply).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import openai
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from treeagent.agents.base import BudgetExhausted, Usage, UsageSink, release_calls, reserve_calls
from treeagent.agents.llm.cassette import Cassette, request_key
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.endpoints import Endpoint, EndpointPool
from treeagent.agents.llm.failures import given_up, is_transient, refused
from treeagent.agents.llm.types import (
    Choice,
    Completion,
    ContextLengthError,
    LLMError,
    LLMRequestError,
    LLMSetupError,
    LLMStats,
    LLMUnavailableError,
    LLMUnreachableError,
    Message,
    Sampling,
    parse_response,
    schema_format,
)

__all__ = [
    "BudgetExhausted",
    "Choice",
    "Completion",
    "ContextLengthError",
    "LLMClient",
    "LLMError",
    "LLMRequestError",
    "LLMSetupError",
    "LLMStats",
    "LLMUnavailableError",
    "LLMUnreachableError",
    "Message",
    "Sampling",
    "schema_format",
]

#: the most characters of one prompt message kept in a trace record (the middle is cut); the
#: viewer shows prompts, and a long-context model's prompts would otherwise swell every trace.
PROMPT_CHARS = 12_000


class LLMClient:
    """See the module docstring. Use `async with LLMClient(config) as llm:` or call `close()`."""

    def __init__(
        self,
        config: LLMConfig | None = None,
        *,
        cassette: Cassette | None = None,
        default_sampling: Sampling | None = None,
        record_prompts: bool = True,
    ) -> None:
        self.config = config or LLMConfig.load()
        if cassette is None and self.config.cassette:
            cassette = Cassette(self.config.cassette, self.config.cassette_mode)
        self.cassette = cassette
        self.default_sampling = default_sampling or Sampling()
        self.record_prompts = record_prompts
        self.stats = LLMStats()
        self._pool = (
            None
            if cassette is not None and not self.config.base_urls
            else EndpointPool.create(
                self.config.base_urls,
                self.config.api_key,
                self.config.request_timeout_s,
                self.config.connect_timeout_s,
                self.config.endpoint_cooldown_s,
            )
        )
        self._model = self.config.model
        #: the most choices one request returned when it returned fewer than asked (servers that
        #: cap n silently, e.g. llama.cpp's 1); later calls split their n by it.
        self._learned_cap: int | None = None
        self._slots: asyncio.Semaphore | None = None  # made lazily inside the running loop

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @property
    def endpoints(self) -> list[Endpoint]:
        return [] if self._pool is None else list(self._pool.endpoints)

    async def model_name(self) -> str:
        """The served model's name: configured, or asked of the first endpoint once."""
        if self._model is None:
            if self._pool is None:
                self._model = "replay"
            else:
                listing = await self._with_retries(lambda ep: ep.client.models.list(), "listing models")
                data = list(listing.data)
                if not data:
                    raise LLMUnavailableError(f"{self._pool.describe()} serves no model")
                self._model = data[0].id
        return self._model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        sampling: Sampling | None = None,
        schema: type[BaseModel] | dict[str, Any] | None = None,
        sink: UsageSink | None = None,
        tag: str = "",
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        prefill: str | None = None,
    ) -> Completion:
        """Up to `n` sampled replies to `messages` (exactly n unless the server keeps returning none).

        `schema` is a pydantic model or a plain JSON schema; `tools` (OpenAI function specs) and
        `tool_choice` ask for native tool calls, returned in `Choice.tool_calls`. `prefill` is the
        start of the assistant's reply: the model continues it (vLLM's `continue_final_message`),
        and the choices hold only the continuation. Repeated prefixes hit the engine's prefix cache,
        which is what makes token-level search affordable.

        With a `sink`, n is first reserved from it: fewer replies come back when fewer calls were
        granted, and `BudgetExhausted` is raised (nothing sent) when none was.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        granted = reserve_calls(sink, n)
        if granted == 0:
            raise BudgetExhausted(f"no LLM call left in the budget for this {tag or 'request'}; nothing was sent")
        made = [0]
        try:
            return await self._complete(
                messages,
                granted,
                sampling or self.default_sampling,
                schema,
                sink,
                tag,
                tools,
                tool_choice,
                made,
                prefill,
            )
        finally:
            release_calls(sink, granted - made[0])

    async def _complete(
        self,
        messages: Sequence[Message],
        n: int,
        sampling: Sampling,
        schema: type[BaseModel] | dict[str, Any] | None,
        sink: UsageSink | None,
        tag: str,
        tools: Sequence[dict[str, Any]] | None,
        tool_choice: str | dict[str, Any] | None,
        made: list[int],
        prefill: str | None = None,
    ) -> Completion:
        choices: list[Choice] = []
        total = Usage(completions=0)
        requests = 0
        empty_rounds = 0
        while len(choices) < n and empty_rounds < 3:
            # Split what is missing by the server's cap on n (configured, or learnt from a short
            # reply) and send the parts at once: a server that serves n=1 still gets k in flight.
            remaining = n - len(choices)
            cap = self.config.max_n_per_request or self._learned_cap or remaining
            sizes = [min(cap, remaining - start) for start in range(0, remaining, cap)]
            offsets = [len(choices) + sum(sizes[:i]) for i in range(len(sizes))]
            # every part settles before an error is raised, so the grants released after it are
            # grants no request still in flight will charge
            outcomes = await asyncio.gather(
                *(
                    self._request(
                        messages,
                        size,
                        sampling,
                        None if sampling.seed is None else sampling.seed + offset,
                        schema,
                        sink,
                        tag,
                        tools,
                        tool_choice,
                        made,
                        prefill,
                    )
                    for size, offset in zip(sizes, offsets, strict=True)
                ),
                return_exceptions=True,
            )
            results: list[tuple[list[Choice], Usage]] = []
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                results.append(outcome)
            got_any = False
            for size, (got, usage) in zip(sizes, results, strict=True):
                if requests:
                    self.stats.top_ups += 1
                requests += 1
                if 0 < len(got) < size:
                    self._learned_cap = len(got)
                got_any = got_any or bool(got)
                choices.extend(got[: n - len(choices)])
                total.prompt_tokens += usage.prompt_tokens
                total.completion_tokens += usage.completion_tokens
                total.cached_tokens += usage.cached_tokens
                total.latency_s += usage.latency_s
                total.completions += usage.completions
            empty_rounds = 0 if got_any else empty_rounds + 1
        return Completion(choices=choices, usage=total, requests=requests)

    async def _request(
        self,
        messages: Sequence[Message],
        n: int,
        sampling: Sampling,
        seed: int | None,
        schema: type[BaseModel] | dict[str, Any] | None,
        sink: UsageSink | None,
        tag: str,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        made: list[int] | None = None,
        prefill: str | None = None,
    ) -> tuple[list[Choice], Usage]:
        params: dict[str, Any] = {
            "messages": list(messages) if prefill is None else [*messages, {"role": "assistant", "content": prefill}],
            "n": n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.stop:
            params["stop"] = list(sampling.stop)
        if seed is not None:
            params["seed"] = seed
        if sampling.logprobs:
            params["logprobs"] = True
            if sampling.top_logprobs:
                params["top_logprobs"] = sampling.top_logprobs
        if schema is not None and self.config.structured_outputs:
            params["response_format"] = schema_format(schema)
        if tools:
            params["tools"] = list(tools)
            if tool_choice is not None:
                params["tool_choice"] = tool_choice
        if prefill is not None:
            params["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        key = request_key(params)
        started = time.perf_counter()
        raw = self.cassette.lookup(key) if self.cassette is not None else None
        replayed = raw is not None
        endpoint = "cassette"
        if raw is None:
            if self._pool is None:
                raise LLMUnavailableError(
                    f"no endpoint configured and {self.cassette.path if self.cassette else 'no cassette'} "
                    "has no response for this request; give a base URL to record it"
                )
            params["model"] = await self.model_name()
            raw, endpoint = await self._send(params)
            if self.cassette is not None:
                await self.cassette.record(key, {k: v for k, v in params.items() if k != "model"}, raw)
        latency = time.perf_counter() - started
        choices, usage = parse_response(raw, latency)
        usage.completions = len(choices)
        if made is not None:
            made[0] += len(choices)
        self._account(usage, replayed, tag)
        if sink is not None:
            record: dict[str, Any] = {
                "type": "llm",
                "tag": tag,
                "endpoint": endpoint,
                "key": key,
                "n": n,
                "returned": len(choices),
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cached_tokens": usage.cached_tokens,
                "latency_s": round(latency, 4),
                "finish_reasons": [c.finish_reason for c in choices],
                "texts": [c.text for c in choices],
                "replayed": replayed,
            }
            if self.record_prompts:
                record["messages"] = capped_messages(params["messages"])
            sink.charge_llm(usage, record)
        return choices, usage

    def _account(self, usage: Usage, replayed: bool, tag: str) -> None:
        s = self.stats
        s.requests += 1
        s.replayed += int(replayed)
        s.prompt_tokens += usage.prompt_tokens
        s.completion_tokens += usage.completion_tokens
        s.cached_tokens += usage.cached_tokens
        s.latency_s += usage.latency_s
        if tag:
            s.by_tag[tag] = s.by_tag.get(tag, 0) + 1

    async def _send(self, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        used: list[str] = []

        async def call(ep: Endpoint) -> dict[str, Any]:
            used.append(ep.base_url)
            response = await ep.client.chat.completions.create(**params)
            return response.model_dump(mode="json", exclude_none=True)

        raw = await self._with_retries(call, "chat completion")
        return raw, used[-1]

    async def _with_retries(self, call: Any, what: str) -> Any:
        """Run `call(endpoint)` under the concurrency limit, retrying transient failures."""
        assert self._pool is not None
        pool = self._pool
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrency)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts) | stop_after_delay(self.config.retry_window_s),
            wait=wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=1.0),
            retry=retry_if_exception(is_transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    async with self._slots:
                        endpoint = pool.pick()
                        with pool.use(endpoint):
                            try:
                                result = await call(endpoint)
                            except openai.APIStatusError as exc:
                                if is_transient(exc):
                                    if not isinstance(exc, openai.RateLimitError):
                                        pool.mark_failed(endpoint, f"HTTP {exc.status_code}")
                                    raise
                                raise refused(exc, what, endpoint.base_url) from exc
                            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                                pool.mark_failed(endpoint, type(exc).__name__)
                                raise
                        pool.mark_ok(endpoint)
                        return result
        except (openai.APIError, openai.APIConnectionError) as exc:
            if not is_transient(exc):
                raise
            raise given_up(exc, what, pool.describe()) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def capped_messages(messages: Sequence[Message], limit: int = PROMPT_CHARS) -> list[Message]:
    """The messages as a trace keeps them: text content over `limit` characters loses its middle."""
    out: list[Message] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str) and len(content) > limit:
            half = limit // 2
            cut = len(content) - 2 * half
            message = {**message, "content": f"{content[:half]}\n[... {cut} characters cut ...]\n{content[-half:]}"}
        out.append(message)
    return out
