"""A live LLM search on the shared model server, viewed and exported end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.traces.conftest import read_jsonl
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.cli.main import app
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.export import PreferencePair
from treeagent.search import MCTS, Budget, read_records
from treeagent.search.trace_tree import load_tree

pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]
runner = CliRunner()


async def test_live_search_is_viewed_with_its_prompts_and_exported(
    live_base_url: str, open_page: Callable[[Path], Any], tmp_path: Path
) -> None:
    trace = tmp_path / "live.jsonl"
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=120)) as llm:
        controller = MCTS(
            policy=LLMPolicy(llm),
            evaluator=LLMSelfEvaluator(llm, votes=2),
            budget=Budget(max_expansions=2),
            children_per_expansion=2,
            evaluate="children",
            trace=trace,
        )
        result = await controller.run(Game24Env(), game24_task((4, 9, 10, 13)))
    calls = [r for r in read_records(trace) if r["type"] == "llm"]
    # one LLM call is one sampled completion: a request with n=2 is two calls
    assert len(calls) == result.stats.llm_requests > 0
    assert sum(c["returned"] for c in calls) == result.stats.llm_calls
    node_ids = {r["id"] for r in read_records(trace) if r["type"] == "node"}
    assert all(c["node"] in node_ids and c["messages"] and len(c["texts"]) == c["returned"] for c in calls)

    page_path = tmp_path / "live.html"
    viewed = runner.invoke(app, ["view", str(trace), "-o", str(page_path)])
    assert viewed.exit_code == 0, viewed.output
    opened = await open_page(page_path)
    page = opened.page
    assert await page.text_content("#node-count") == str(len(node_ids))
    await page.click("li.node[data-node='0'] > .row > .label")
    tree = load_tree(trace)
    first = tree.calls[tree.root.calls[0]]
    replies = await page.locator("#details .call").first.locator("details.replies pre").all_text_contents()
    assert replies == first.texts
    assert opened.errors == []

    out = tmp_path / "pairs.jsonl"
    exported = runner.invoke(app, ["export", str(trace), "-f", "preference", "--pairs", "all", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    for line in read_jsonl(out):
        pair = PreferencePair.model_validate_json(line)
        assert pair.chosen_value > pair.rejected_value
        assert tree.nodes[pair.chosen_id].parent == tree.nodes[pair.rejected_id].parent == pair.parent_id
