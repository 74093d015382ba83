"""Fixtures for the web tests: a real headless Chromium (Debian's, installed by scripts/test.sh),
fixture pages under tests/web/pages served on 127.0.0.1, and the live model for `@pytest.mark.llm`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from treeagent.environments.web import Browser
from treeagent.environments.web.browser import chromium_path
from treeagent.environments.web.server import StaticServer, serve_folder

PAGES = Path(__file__).parent / "pages"


def _have_chromium() -> bool:
    try:
        chromium_path()
        import playwright  # noqa: F401
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _have_chromium():
        return
    skip = pytest.mark.skip(reason="no Chromium/Playwright: apt-get install -y chromium; pip install '.[web]'")
    for item in items:
        if "tests/web" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pages() -> StaticServer:
    return serve_folder(PAGES)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    shared = Browser()
    yield shared
    await shared.close()
