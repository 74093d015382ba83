"""Fixtures for the coding tests: one process sandbox per session, clients that replay recorded
real responses (cassettes), and the live model server for `@pytest.mark.llm` tests.

Re-record the cassettes with a server running:
    TREEAGENT_RECORD=1 TREEAGENT_BASE_URL=http://127.0.0.1:8765/v1 pytest tests/coding -k cassette
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio

from tests.cassette_clients import CassetteClients
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.sandbox import ProcessSandbox

CASSETTES = Path(__file__).parent / "cassettes"

MakeLLM = Callable[..., LLMClient]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def code_sandbox() -> AsyncIterator[ProcessSandbox]:
    async with ProcessSandbox(workers=2) as sb:  # a free uid range (tests/sandbox pins 64600)
        yield sb


@pytest_asyncio.fixture(loop_scope="session")
async def cassette_llm() -> AsyncIterator[MakeLLM]:
    """`cassette_llm(name)`: a client replaying tests/coding/cassettes/<name>.jsonl (recording it
    afresh from TREEAGENT_BASE_URL when TREEAGENT_RECORD=1)."""
    clients = CassetteClients(CASSETTES, record_prompts=True)
    yield clients.make
    await clients.close()


@pytest_asyncio.fixture(loop_scope="session")
async def live_llm(live_base_url: str) -> AsyncIterator[LLMClient]:
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=120), record_prompts=True) as client:
        yield client
