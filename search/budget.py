"""How much a search may spend, and the meter that counts what it has spent.

`Budget` is the user-facing config (validated); `Meter` is the counter the controller checks
before each expansion. Expansions and environment steps are reserved before they start, so a
search stops exactly at those limits even with concurrent expansions. LLM calls (one call = one
sampled completion) are reserved before each request is sent (`Meter.reserve`), by policies,
evaluators and reflectors alike, so no search spends more calls than its budget. Tokens and wall
time are checked before each expansion and before each reservation (a request already under way
finishes and is counted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from treeagent.agents.base import Usage


class Budget(BaseModel):
    """Limits for one search; None means no limit on that resource."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_expansions: int | None = Field(default=None, ge=1)
    max_llm_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_env_steps: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)

    def is_bounded(self) -> bool:
        return any(v is not None for v in self.model_dump().values())


@dataclass(slots=True)
class Stats:
    """What a search spent and did (reported in `SearchResult.stats` and the trace)."""

    expansions: int = 0
    replayed_expansions: int = 0
    evaluations: int = 0
    env_steps: int = 0
    #: sampled completions (a request with n=4 is 4 calls)
    llm_calls: int = 0
    llm_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    llm_seconds: float = 0.0
    failed_nodes: int = 0
    simulations: int = 0
    wall_seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens"] = self.tokens
        return data


class Meter:
    """Counts spending against a `Budget`; also the `UsageSink` that LLM clients charge."""

    __slots__ = ("budget", "held", "record_llm", "started", "stats", "stop_reason")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.stats = Stats()
        self.started = time.monotonic()
        self.stop_reason: str | None = None
        #: called with each charged request's record (the trace's llm record, the run's event)
        self.record_llm: Callable[[dict[str, Any]], None] | None = None
        #: completions granted by `reserve` and not yet charged or released
        self.held = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def exhausted(self) -> bool:
        """True when no further expansion may start; sets `stop_reason`."""
        if self.stop_reason is None:
            self.stop_reason = self._limit_reached(calls=True)
        return self.stop_reason is not None

    def _limit_reached(self, *, calls: bool) -> str | None:
        """The first limit spent, if any; with `calls=False` the model's limits (calls, tokens)
        are left out."""
        b, s = self.budget, self.stats
        if b.max_expansions is not None and s.expansions >= b.max_expansions:
            return "max_expansions"
        if calls and b.max_llm_calls is not None and s.llm_calls >= b.max_llm_calls:
            return "max_llm_calls"
        if calls and b.max_tokens is not None and s.tokens >= b.max_tokens:
            return "max_tokens"
        if b.max_env_steps is not None and s.env_steps >= b.max_env_steps:
            return "max_env_steps"
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            return "max_seconds"
        return None

    def try_expand(self, *, calls: bool = True) -> bool:
        """Reserve one expansion; False (and nothing reserved) when the budget is spent.

        `calls=False`: the expansion asks the model nothing (a policy that only rewrites earlier
        output), so spent calls or tokens do not stop it; its policy still cannot get a call (the
        client reserves each one), and every other limit holds."""
        if calls:
            if self.exhausted():
                return False
        elif self.stop_reason not in (None, "max_llm_calls", "max_tokens") or self._limit_reached(calls=False):
            return False
        self.stats.expansions += 1
        return True

    def try_env_step(self) -> bool:
        """Reserve one environment step; False when the step budget is spent."""
        limit = self.budget.max_env_steps
        if limit is not None and self.stats.env_steps >= limit:
            return False
        self.stats.env_steps += 1
        return True

    def calls_left(self) -> int | None:
        """LLM calls that may still be granted (None: no limit)."""
        limit = self.budget.max_llm_calls
        return None if limit is None else max(0, limit - self.stats.llm_calls - self.held)

    def reserve(self, n: int) -> int:
        """Grant up to n LLM calls before a request is sent; 0 when the budget has none left (or its
        tokens are spent). The grant counts toward the ceiling until charged or released."""
        if n <= 0:
            return 0
        b, s = self.budget, self.stats
        if b.max_tokens is not None and s.tokens >= b.max_tokens:
            self.stop_reason = self.stop_reason or "max_tokens"
            return 0
        left = self.calls_left()
        got = n if left is None else min(n, left)
        if got == 0 and b.max_llm_calls is not None and s.llm_calls >= b.max_llm_calls:
            self.stop_reason = self.stop_reason or "max_llm_calls"
        self.held += got
        return got

    def release(self, n: int) -> None:
        """Give back granted calls that were not made."""
        self.held = max(0, self.held - max(0, n))

    def preload(self, spent: Stats) -> None:
        """Count what earlier runs of a resumed search spent (their calls are part of this budget)."""
        s = self.stats
        s.llm_calls += spent.llm_calls
        s.llm_requests += spent.llm_requests
        s.prompt_tokens += spent.prompt_tokens
        s.completion_tokens += spent.completion_tokens
        s.cached_tokens += spent.cached_tokens
        s.llm_seconds += spent.llm_seconds

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        """Record one request: `usage.completions` calls and its tokens (settling its grant)."""
        s = self.stats
        calls = max(0, usage.completions)
        s.llm_calls += calls
        s.llm_requests += 1
        self.held = max(0, self.held - calls)
        s.prompt_tokens += usage.prompt_tokens
        s.completion_tokens += usage.completion_tokens
        s.cached_tokens += usage.cached_tokens
        s.llm_seconds += usage.latency_s
        if self.record_llm is not None:
            rec = {
                "returned": calls,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cached_tokens": usage.cached_tokens,
                "latency_s": round(usage.latency_s, 4),
            }
            if record:
                rec.update(record)
            self.record_llm(rec)

    def finish(self) -> Stats:
        self.stats.wall_seconds = round(self.elapsed(), 4)
        return self.stats


class NodeCharge:
    """The meter as one node's agents see it: calls are reserved from and charged to the search,
    and their trace records name the node they were made for (the viewer shows each node's calls)
    and the step they served (`slot`: the expansion, value or lesson a resumed search reuses)."""

    __slots__ = ("meter", "node", "slot")

    def __init__(self, meter: Meter, node: int, slot: str = "") -> None:
        self.meter = meter
        self.node = node
        self.slot = slot

    def reserve(self, n: int) -> int:
        return self.meter.reserve(n)

    def release(self, n: int) -> None:
        self.meter.release(n)

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        extra: dict[str, Any] = {"node": self.node}
        if self.slot:
            extra["slot"] = self.slot
        self.meter.charge_llm(usage, {**(record or {}), **extra})
