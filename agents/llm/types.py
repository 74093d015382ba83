"""The value types of the LLM client: sampling settings, replies, totals, errors.

Kept apart from the client so policies, tests and cassettes can use them without the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from treeagent.agents.base import SearchStop, Usage

Message = dict[str, Any]


class LLMError(RuntimeError):
    """Base class of the client's errors."""


class LLMUnavailableError(LLMError):
    """No endpoint answered within the retries: the server is down, overloaded or its engine died."""


class ContextLengthError(LLMError):
    """The prompt (plus max_tokens) does not fit the model's context window."""


class LLMRequestError(LLMError):
    """The server rejected the request (4xx other than 429): a bug in the request, not a transient."""


class LLMSetupError(LLMRequestError, SearchStop):
    """The endpoint refused the client's configuration (an unknown model: 404; refused credentials:
    401/403). Every request would fail the same way, so a search stops at the first."""


class LLMUnreachableError(LLMUnavailableError, SearchStop):
    """Nothing accepted a connection at the endpoints, through every retry: a wrong URL or a server
    that is down. A search stops at the first (a timeout under load is no such error)."""


class Sampling(BaseModel):
    """Sampling settings of one request. `seed` is off by default: vLLM CPU 0.32 crashes under
    load on seeded requests whose prompt spans batches (see the project notes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, ge=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)


@dataclass(slots=True)
class TokenLogprob:
    """One sampled token, its log-probability, and the most likely alternatives at that place."""

    token: str
    logprob: float
    #: token -> log-probability of the `top_logprobs` most likely tokens here (the sampled one included).
    top: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Choice:
    text: str
    finish_reason: str | None
    #: sum of the sampled tokens' log-probabilities, when requested and returned.
    logprob: float | None = None
    tokens: int | None = None
    #: native tool calls of the reply (OpenAI `tool_calls`: {"id", "type", "function": {"name", "arguments"}}).
    tool_calls: list[dict[str, Any]] | None = None
    #: the sampled tokens one by one, when logprobs were requested (move priors read the alternatives).
    token_logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True)
class Completion:
    """The choices of one logical call (possibly several HTTP requests) and what it cost."""

    choices: list[Choice]
    usage: Usage
    requests: int

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.choices]


@dataclass(slots=True)
class LLMStats:
    """Running totals over the client's life (benchmarks and summaries read these)."""

    requests: int = 0
    replayed: int = 0
    retries: int = 0
    top_ups: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0
    by_tag: dict[str, int] = field(default_factory=dict)


def schema_format(schema: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    """The `response_format` that makes the server decode JSON valid for `schema` (a model or a JSON schema)."""
    if isinstance(schema, dict):
        name = str(schema.get("title") or "Reply")
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True},
    }


def parse_response(raw: dict[str, Any], latency: float) -> tuple[list[Choice], Usage]:
    choices: list[Choice] = []
    for item in sorted(raw.get("choices", []), key=lambda c: c.get("index", 0)):
        message = item.get("message") or {}
        logprob = None
        tokens = None
        per_token = None
        content = (item.get("logprobs") or {}).get("content")
        if content:
            logprob = float(sum(t.get("logprob", 0.0) for t in content))
            tokens = len(content)
            per_token = [
                TokenLogprob(
                    str(t.get("token", "")),
                    float(t.get("logprob", 0.0)),
                    {str(a.get("token", "")): float(a.get("logprob", 0.0)) for a in t.get("top_logprobs") or ()},
                )
                for t in content
            ]
        choices.append(
            Choice(
                text=message.get("content") or "",
                finish_reason=item.get("finish_reason"),
                logprob=logprob,
                tokens=tokens,
                token_logprobs=per_token,
                tool_calls=message.get("tool_calls") or None,
            )
        )
    usage_raw = raw.get("usage") or {}
    details = usage_raw.get("prompt_tokens_details") or {}
    usage = Usage(
        prompt_tokens=int(usage_raw.get("prompt_tokens", 0)),
        completion_tokens=int(usage_raw.get("completion_tokens", 0)),
        cached_tokens=int(details.get("cached_tokens") or 0),
        latency_s=latency,
    )
    return choices, usage
