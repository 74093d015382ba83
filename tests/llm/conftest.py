"""Fixtures for the LLM tests.

Live tests (`@pytest.mark.llm`) use the real server whose base URL is in TREEAGENT_BASE_URL (set
by the test command after `scripts/vllm.sh start`); without it, the session starts the embedded
server itself. Cassette tests replay real responses recorded from that server; run them with
TREEAGENT_RECORD=1 (and a server) to re-record.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cassette_clients import CassetteClients
from treeagent.agents.base import Usage
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig

CASSETTES = Path(__file__).parent / "cassettes"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingSink:
    """A UsageSink that keeps what it was charged (the search's meter does the same job)."""

    def __init__(self) -> None:
        self.usages: list[Usage] = []
        self.records: list[dict[str, Any]] = []

    def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
        self.usages.append(usage)
        if record is not None:
            self.records.append(record)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def cassette_llm() -> AsyncIterator[Callable[..., LLMClient]]:
    """`cassette_llm(name, **config)`: a client replaying tests/llm/cassettes/<name>.jsonl."""
    clients = CassetteClients(CASSETTES, record_prompts=False)
    yield clients.make
    await clients.close()


@pytest.fixture
async def live_llm(live_base_url: str) -> AsyncIterator[LLMClient]:
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=120)) as client:
        yield client
