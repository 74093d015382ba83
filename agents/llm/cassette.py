"""Record and replay of real model responses, keyed by request.

A cassette is a JSONL file: one line per HTTP request actually sent, with the request's key, the
request itself (for reading) and the raw response. Replaying returns the recorded responses for a
key in the order they were recorded (cycling when a run asks more often than the recording did),
so unit tests and re-runs of a search need no model. The key ignores the model name and transport
details: a cassette belongs to one model.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any


class CassetteMode(StrEnum):
    RECORD = "record"  # send every request and append the response
    REPLAY = "replay"  # never send; a missing key is an error
    AUTO = "auto"  # replay what is recorded, send and record the rest


class CassetteMiss(LookupError):
    """A replay-only cassette has no response for this request."""


def request_key(request: dict[str, Any]) -> str:
    """Stable hash of the request fields that decide the reply."""
    fields = {k: v for k, v in request.items() if k not in {"model", "timeout", "extra_headers"}}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class Cassette:
    """Holds the recorded responses of one file; safe to share across concurrent requests."""

    def __init__(self, path: str | Path, mode: CassetteMode | str = CassetteMode.AUTO) -> None:
        self.path = Path(path)
        self.mode = CassetteMode(mode)
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._cursor: dict[str, int] = {}
        self._lock = asyncio.Lock()
        if self.path.exists():
            self._load()
        elif self.mode is CassetteMode.REPLAY:
            raise FileNotFoundError(f"cassette {self.path} does not exist; record it first (mode='record')")

    def _load(self) -> None:
        for number, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self._responses.setdefault(entry["key"], []).append(entry["response"])
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{self.path}:{number}: not a cassette entry ({exc})") from None

    def __len__(self) -> int:
        return sum(len(v) for v in self._responses.values())

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The next recorded response for `key`, or None when there is none (or mode is RECORD)."""
        if self.mode is CassetteMode.RECORD:
            return None
        recorded = self._responses.get(key)
        if not recorded:
            if self.mode is CassetteMode.REPLAY:
                raise CassetteMiss(f"no recorded response for request {key} in {self.path}; re-record it")
            return None
        index = self._cursor.get(key, 0)
        self._cursor[key] = index + 1
        return recorded[index % len(recorded)]

    async def record(self, key: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        self._responses.setdefault(key, []).append(response)
        line = json.dumps({"key": key, "request": request, "response": response}, default=str)
        async with self._lock:
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")
