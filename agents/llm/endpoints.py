"""A pool of endpoints serving the same model: least-busy routing, eviction and retry-later.

Each request goes to the healthy endpoint with the fewest requests in flight. An endpoint that
fails (connection error, timeout, 5xx) is taken out of rotation for a cooldown that doubles on
each consecutive failure; when every endpoint is out, the one due back soonest is tried anyway,
so the caller's retry loop (with its backoff) is what waits, never the pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from openai import AsyncOpenAI, Timeout


@dataclass(slots=True)
class Endpoint:
    """One base URL and its client; counters are only touched from the event loop."""

    base_url: str
    client: AsyncOpenAI
    in_flight: int = 0
    failures: int = 0
    down_until: float = 0.0
    served: int = 0
    last_error: str = ""

    def healthy(self, now: float) -> bool:
        return self.down_until <= now


@dataclass(slots=True)
class EndpointPool:
    """Routes requests across endpoints; see the module docstring."""

    endpoints: list[Endpoint]
    cooldown_s: float = 2.0
    max_cooldown_s: float = 30.0
    _rr: int = field(default=0)

    @classmethod
    def create(
        cls,
        base_urls: list[str],
        api_key: str,
        request_timeout_s: float,
        connect_timeout_s: float,
        cooldown_s: float,
    ) -> EndpointPool:
        if not base_urls:
            raise ValueError("no endpoint: give a base URL (e.g. http://127.0.0.1:8765/v1) or start a server")
        timeout = Timeout(request_timeout_s, connect=connect_timeout_s)
        endpoints = [
            # max_retries=0: the caller retries with tenacity (and may switch endpoint).
            Endpoint(url, AsyncOpenAI(base_url=url, api_key=api_key, timeout=timeout, max_retries=0))
            for url in base_urls
        ]
        return cls(endpoints=endpoints, cooldown_s=cooldown_s)

    def pick(self) -> Endpoint:
        """The least busy healthy endpoint, or the one due back soonest when all are out."""
        now = time.monotonic()
        healthy = [ep for ep in self.endpoints if ep.healthy(now)]
        if not healthy:
            return min(self.endpoints, key=lambda ep: ep.down_until)
        low = min(ep.in_flight for ep in healthy)
        tied = [ep for ep in healthy if ep.in_flight == low]
        self._rr += 1
        return tied[self._rr % len(tied)]

    @contextmanager
    def use(self, endpoint: Endpoint) -> Iterator[Endpoint]:
        endpoint.in_flight += 1
        try:
            yield endpoint
        finally:
            endpoint.in_flight -= 1

    def mark_ok(self, endpoint: Endpoint) -> None:
        endpoint.failures = 0
        endpoint.down_until = 0.0
        endpoint.served += 1

    def mark_failed(self, endpoint: Endpoint, error: str) -> None:
        endpoint.failures += 1
        endpoint.last_error = error
        delay = min(self.cooldown_s * 2 ** (endpoint.failures - 1), self.max_cooldown_s)
        endpoint.down_until = time.monotonic() + delay

    def describe(self) -> str:
        return ", ".join(f"{ep.base_url} ({ep.last_error or 'ok'})" for ep in self.endpoints)

    async def close(self) -> None:
        for ep in self.endpoints:
            await ep.client.close()
