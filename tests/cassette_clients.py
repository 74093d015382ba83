"""LLM clients that replay recorded real responses (cassettes), shared by the test folders.

With TREEAGENT_RECORD=1 a cassette is recorded afresh, once per session, from the server in
TREEAGENT_BASE_URL; otherwise it is replayed and no server is needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.llm.cassette import Cassette
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig

RECORDING = os.environ.get("TREEAGENT_RECORD") == "1"


class CassetteClients:
    """Makes `make(name, **config)` clients on `folder/<name>.jsonl`, and closes them all."""

    def __init__(self, folder: Path, record_prompts: bool = False) -> None:
        self.folder = folder
        self.record_prompts = record_prompts
        self.made: list[LLMClient] = []
        self.recorded: set[Path] = set()

    def make(self, name: str, **config: Any) -> LLMClient:
        path = self.folder / f"{name}.jsonl"
        if RECORDING and path not in self.recorded:
            base = os.environ.get("TREEAGENT_BASE_URL")
            if not base:
                pytest.fail("TREEAGENT_RECORD=1 needs TREEAGENT_BASE_URL (start a server: scripts/vllm.sh start)")
            path.unlink(missing_ok=True)
            self.recorded.add(path)
            config = {**config, "base_urls": [base]}
            cassette = Cassette(path, "record")
        else:
            cassette = Cassette(path, "replay")
        client = LLMClient(LLMConfig(**config), cassette=cassette, record_prompts=self.record_prompts)
        self.made.append(client)
        return client

    async def close(self) -> None:
        for client in self.made:
            await client.close()
