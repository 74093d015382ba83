"""Fixtures for the viewer and export tests: real search traces, a real headless Chromium.

Traces come from real controllers: best-first and MCTS on the Game of 24 and MCTS on
connect_four with a uniform policy (no model), and an LLM-driven MCTS replayed from a cassette of
real responses of the project's model server (re-record with TREEAGENT_RECORD=1 and
TREEAGENT_BASE_URL). The browser is the system Chromium (`apt-get install -y chromium`) driven by
async Playwright.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.cassette_clients import CassetteClients
from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.environments.web.browser import CHROMIUM as DEFAULT_CHROMIUM
from treeagent.environments.web.browser import LAUNCH_ARGS
from treeagent.search import MCTS, BestFirst, Budget

CASSETTES = Path(__file__).parent / "cassettes"
CHROMIUM = os.environ.get("TREEAGENT_CHROMIUM", DEFAULT_CHROMIUM)
BIG_NODES = 10_000


def torn_copy(src: Path, dst: Path, lines: int, chars: int) -> Path:
    """`dst`: the first `lines` lines of `src` and `chars` characters of the next (a trace mid-write)."""
    kept = src.read_text().splitlines(keepends=True)
    dst.write_text("".join(kept[:lines]) + kept[lines][:chars])
    return dst


def edited_copy(src: Path, dst: Path, line: int, text: str, *, insert: bool = False) -> Path:
    """`dst`: `src` with its line number `line` replaced by `text` (or `text` inserted there)."""
    kept = src.read_text().splitlines(keepends=True)
    kept[line - 1 : line - 1 if insert else line] = [text + "\n"]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(kept))
    return dst


def copied(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    return dst


def write_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read_jsonl(path: Path) -> list[str]:
    return path.read_text().splitlines()


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def _chromium_missing() -> bool:
    return not Path(CHROMIUM).exists()


def _file_url(path: Path) -> str:
    return path.resolve().as_uri()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def best_first_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Best-first on a solvable Game of 24: a solved path and siblings valued by random rollouts."""
    trace = tmp_path_factory.mktemp("bf") / "best_first.jsonl"
    controller = BestFirst(
        UniformPolicy(), RandomRollout(n=8, seed=1), branching=64, max_depth=3, seed=3, trace=trace,
        budget=Budget(max_expansions=400),
    )  # fmt: skip
    result = await controller.run(Game24Env(), game24_task((4, 9, 10, 13)))
    assert result.solved
    return trace


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mcts_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MCTS (UCT, random rollouts) on the Game of 24: siblings valued by visits and backed-up means."""
    trace = tmp_path_factory.mktemp("mcts") / "mcts24.jsonl"
    controller = MCTS(UniformPolicy(), RandomRollout(n=4, seed=2), simulations=1500, seed=2, max_depth=3, trace=trace)
    await controller.run(Game24Env(), game24_task((2, 3, 5, 6)))
    return trace


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def big_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MCTS with a uniform policy on connect_four, run until its trace holds 10,000 nodes."""
    trace = tmp_path_factory.mktemp("big") / "connect_four.jsonl"
    controller = MCTS(UniformPolicy(), RandomRollout(seed=1), simulations=BIG_NODES, seed=1, trace=trace)
    await controller.run(OpenSpielEnv("connect_four"), game_task("connect_four"))
    return trace


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def llm_trace(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Path]:
    """MCTS with the LLM policy and self-evaluation on the Game of 24 (recorded real responses)."""
    clients = CassetteClients(CASSETTES, record_prompts=True)
    llm = clients.make("viewer_mcts", request_timeout_s=120)
    trace = tmp_path_factory.mktemp("llm") / "llm_mcts.jsonl"
    controller = MCTS(
        policy=LLMPolicy(llm),
        evaluator=LLMSelfEvaluator(llm, votes=2),
        budget=Budget(max_expansions=3),
        children_per_expansion=2,
        evaluate="children",
        trace=trace,
    )
    result = await controller.run(Game24Env(), game24_task((4, 9, 10, 13)))
    misses = [n.error for n in result.tree if n.error and "has no response" in n.error]
    assert not misses, "cassette out of date: re-record with TREEAGENT_RECORD=1"
    assert result.stats.llm_requests == llm.stats.requests > 0
    yield trace
    await clients.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    if _chromium_missing():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[web]'")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))
        yield launched
        await launched.close()


class Opened:
    """A page of the viewer opened in Chromium, with every console error and page error it raised."""

    def __init__(self, page: Any, errors: list[str]) -> None:
        self.page = page
        self.errors = errors


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Any) -> AsyncIterator[Callable[[Path], Any]]:
    """`await open_page(html_path)`: load a viewer page from file:// and wait until it has rendered."""
    contexts: list[Any] = []

    async def opener(path: Path) -> Opened:
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: None if req.url.startswith("file:") else errors.append(f"fetched {req.url}"))
        await page.goto(_file_url(path))
        await page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        return Opened(page, errors)

    yield opener
    for context in contexts:
        await context.close()
