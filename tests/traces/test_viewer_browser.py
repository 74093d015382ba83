"""`treeagent view` pages in a real headless Chromium: they load cleanly, count right, and show details."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.traces.conftest import BIG_NODES, line_count, torn_copy
from tests.traces.markup_env import INJECTION, MarkupEnv
from treeagent.agents.heuristics import EnvReward, UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.base import Task
from treeagent.search import BestFirst, read_records
from treeagent.search.trace_tree import load_tree

pytestmark = pytest.mark.asyncio(loop_scope="session")
runner = CliRunner()


def _view(trace: Path, out: Path) -> Path:
    result = runner.invoke(app, ["view", str(trace), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in " ".join(result.output.split())
    page = out.read_text()
    # one self-contained file: nothing to fetch (the trace's own text may mention URLs)
    head, _, _ = page.partition('<script id="trace-data"')
    assert "<script src" not in page and "<link" not in head and "http" not in head and "@import" not in head
    return out


def _node_ids(trace: Path) -> set[int]:
    return {r["id"] for r in read_records(trace) if r["type"] == "node"}


async def _select(page: Any, node: int) -> None:
    await page.click(f"li.node[data-node='{node}'] > .row > .label")
    await page.wait_for_selector(f"#details[data-node='{node}']")


async def test_llm_search_page_shows_nodes_prompts_and_replies(
    llm_trace: Path, open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    html = _view(llm_trace, tmp_path / "llm.html")
    opened = await open_page(html)
    page = opened.page
    assert await page.text_content("#node-count") == str(len(_node_ids(llm_trace)))
    # the root made the first propose call: its details show the prompt and every reply
    await _select(page, 0)
    tree = load_tree(llm_trace)
    call = tree.calls[tree.root.calls[0]]
    assert call.tag == "propose" and call.messages
    details = page.locator("#details")
    assert await details.locator("h2", has_text="LLM calls").text_content() == f"LLM calls ({len(tree.root.calls)})"
    await details.locator("details.prompt summary").first.click()
    prompt_texts = await details.locator(".call").first.locator("details.prompt pre").all_text_contents()
    assert prompt_texts == [m["content"] for m in call.messages]
    replies = await details.locator(".call").first.locator("details.replies pre").all_text_contents()
    assert replies == call.texts
    # a child: its action, observation and value, and the evaluation calls made for it
    child = tree.nodes[tree.root.children[0]]
    await _select(page, child.id)
    table = await details.locator("table").inner_text()
    assert child.text in table and f"value\t{round(child.value, 3) if child.value is not None else '—'}" in table
    assert await details.locator("pre.observation").text_content() == (child.observation or "(none)")
    assert await details.locator(".call").count() == len(child.calls)
    # the best path is highlighted, and only it
    best = {int(x) for x in await page.locator("li.node.best").evaluate_all("els => els.map(e => e.dataset.node)")}
    assert tree.end is not None and best == set(tree.end.best_path)
    assert opened.errors == []


async def test_budget_chart_and_summary(
    best_first_trace: Path, open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    opened = await open_page(_view(best_first_trace, tmp_path / "bf.html"))
    page = opened.page
    assert await page.text_content("#node-count") == str(len(_node_ids(best_first_trace)))
    assert "solved" in (await page.text_content("#summary") or "")
    assert await page.locator("#chart svg polyline").count() >= 2
    legend = await page.text_content("#chart .legend") or ""
    tree = load_tree(best_first_trace)
    limit = tree.run.config["budget"]["max_expansions"]
    assert f"expansions: {tree.usage[-1].expansions} of {limit}" in legend
    assert opened.errors == []


async def test_ten_thousand_nodes_render_lazily(
    big_trace: Path, open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    ids = _node_ids(big_trace)
    assert len(ids) == BIG_NODES
    opened = await open_page(_view(big_trace, tmp_path / "big.html"))
    page = opened.page
    assert await page.text_content("#node-count") == str(BIG_NODES)
    rendered = await page.locator("li.node").count()
    assert 1 < rendered < 1_000, "children are built when opened, not all at once"
    # a branch off the best path starts closed, with no children built; it opens and closes
    tree = load_tree(big_trace)
    best = set(tree.best_path())
    branch = next(c for c in tree.root.children if tree.nodes[c].children and c not in best)
    item = page.locator(f"li.node[data-node='{branch}']")
    toggle = item.locator(":scope > .row > .toggle")
    assert await item.locator(":scope > ul.kids").count() == 0
    await toggle.click()
    assert await item.locator(":scope > ul.kids > li.node").count() == min(100, len(tree.nodes[branch].children))
    await toggle.click()
    assert not await item.locator(":scope > ul.kids").is_visible()
    # jump to the deepest node: its ancestors open and its details show
    deepest = max(tree.nodes.values(), key=lambda n: (n.depth, n.id))
    await page.fill("#goto", str(deepest.id))
    await page.click("#goto-form button")
    await page.wait_for_selector(f"#details[data-node='{deepest.id}']")
    assert await page.locator(f"li.node[data-node='{deepest.id}']").is_visible()
    crumbs = await page.locator("#details .crumbs a").count()
    assert crumbs == deepest.depth + 1
    assert opened.errors == []


async def test_unfinished_trace_with_a_torn_line_opens(
    mcts_trace: Path, open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    partial = torn_copy(mcts_trace, tmp_path / "running.jsonl", line_count(mcts_trace) // 3, 25)
    opened = await open_page(_view(partial, tmp_path / "running.html"))
    page = opened.page
    assert await page.text_content("#node-count") == str(len(_node_ids(partial)))
    assert "unfinished" in (await page.text_content("#summary") or "")
    assert "incomplete" in (await page.text_content("#warning") or "")
    await _select(page, 0)
    observation = load_tree(mcts_trace).root.observation
    assert await page.text_content("#details pre.observation") == observation
    assert opened.errors == []


async def test_markup_in_a_trace_is_shown_verbatim_and_never_run(
    open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    trace = tmp_path / "markup.jsonl"
    controller = BestFirst(UniformPolicy(), EnvReward(), branching=3, max_depth=2, trace=trace)
    task = Task(id="markup <i>task</i>", prompt="<h1>reach depth two</h1>")
    result = await controller.run(MarkupEnv(), task)
    assert result.solved
    opened = await open_page(_view(trace, tmp_path / "markup.html"))
    page = opened.page
    assert await page.evaluate("typeof window.injected") == "undefined"
    assert "markup <i>task</i>" in (await page.text_content("#title") or "")
    injected = next(n for n in result.tree if n.action == INJECTION)
    await _select(page, injected.id)
    cells = await page.locator("#details table td").all_text_contents()
    assert cells[cells.index("action") + 1] == INJECTION
    assert await page.text_content("#details pre.observation") == f"<p>{INJECTION}</p>"
    assert await page.evaluate("typeof window.injected") == "undefined"
    assert opened.errors == []
