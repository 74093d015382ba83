"""Suite-wide rules. With TREEAGENT_REQUIRE_SERVICES=1 (set by scripts/test.sh) a skipped test
fails the run: CI starts every service the tests use, so a skip there means something is broken."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("TREEAGENT_REQUIRE_SERVICES") == "1" and _skipped and exitstatus == 0:
        print(f"\n{len(_skipped)} tests were skipped, but scripts/test.sh requires every test to run:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def live_base_url() -> AsyncIterator[str]:
    """The live model server for `@pytest.mark.llm` tests: TREEAGENT_BASE_URL (scripts/test.sh sets
    it), else one on the default port, else an embedded server started for this session."""
    from treeagent.agents.llm.vllm_server import serve_or_connect

    async with serve_or_connect() as server:
        yield server.base_url
