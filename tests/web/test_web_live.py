"""The real model through the web agent (SmolLM2-135M on the shared vLLM server): best-first on
an easy MiniWoB++ task records a coherent search; the MiniWoB evaluation writes and resumes its
results. Whether so small a model succeeds is not asserted; that the machinery ran is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.web import TrajectoryJudge, stop_judge
from treeagent.environments.web import Browser, WebEnv, miniwob_task, url_task
from treeagent.environments.web.server import StaticServer
from treeagent.search import read_records
from treeagent.web import WebSearchConfig, make_controller, run_miniwob_eval

pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]


async def test_best_first_with_the_model_records_a_coherent_search(
    browser: Browser, live_base_url: str, tmp_path: Path
) -> None:
    trace = tmp_path / "best_first.jsonl"
    config = WebSearchConfig(controller="best-first", branching=2, samples=2, max_expansions=2, concurrency=2)
    env = WebEnv(browser=browser)
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=180)) as llm:
        try:
            result = await make_controller(llm, config, trace=trace).run(env, miniwob_task("click-test-2", seed=4))
        finally:
            await env.close()
    records = list(read_records(trace))
    kinds = [r["type"] for r in records]
    assert kinds[0] == "run" and kinds[-1] == "end" and records[0]["env"] == "web"
    llm_calls = [r for r in records if r["type"] == "llm"]
    tags = {r["tag"] for r in llm_calls}
    assert "propose" in tags and tags <= {"propose", "evaluate"}
    # the model values every child that is neither terminal nor failed (none other, not the root)
    judged = [n for n in result.tree if n.parent is not None and not n.failed and not (n.step and n.step.terminal)]
    assert ("evaluate" in tags) == bool(judged)
    assert sum(r["returned"] for r in llm_calls) == result.stats.llm_calls > 0
    expands = [r for r in records if r["type"] == "expand"]
    assert len(expands) == result.stats.expansions and 1 <= len(expands) <= 2
    nodes = {r["id"]: r for r in records if r["type"] == "node"}
    assert len(nodes) == len(result.tree)
    for node in result.tree:
        if node.parent is None:
            continue
        record = nodes[node.id]
        assert record["parent"] == node.parent.id
        if not node.failed:
            assert record["text"].startswith(("click(", "type(", "select(")), record["text"]
            assert record["observation"].startswith("URL: http://127.0.0.1:")
        if node.value is not None and not node.terminal:
            assert node.value <= 0.9  # an unfinished MiniWoB episode is never taken for a success
    values = [r for r in records if r["type"] == "value"]
    assert bool(values) == ("evaluate" in tags) and all(0.0 <= r["value"] <= 1.0 for r in values)
    if result.solved:
        assert result.best.step is not None and result.best.step.reward == 1.0


async def test_miniwob_eval_writes_rows_and_resumes(browser: Browser, live_base_url: str, tmp_path: Path) -> None:
    out = tmp_path / "eval.jsonl"
    config = WebSearchConfig(controller="greedy", max_expansions=1, max_depth=1)
    env = WebEnv(browser=browser, spare_starts=0)
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=180)) as llm:
        try:
            first = await run_miniwob_eval(["click-test"], [0], llm=llm, config=config, out=out, env=env)
            second = await run_miniwob_eval(["click-test"], [0], llm=llm, config=config, out=out, env=env)
        finally:
            await env.close()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["id"] == "miniwob/click-test#0" and rows[0]["controller"] == "greedy"
    assert rows[0]["llm_calls"] == 1 and rows[0]["error"] is None
    assert first.episodes == second.episodes == 1 and (first.resumed, second.resumed) == (0, 1)
    assert first.solved == second.solved == int(rows[0]["solved"])
    assert second.success_rate == float(rows[0]["solved"])


async def test_the_model_judges_a_stop_on_a_task_without_a_check(
    browser: Browser, live_base_url: str, pages: StaticServer
) -> None:
    env = WebEnv(browser=browser, spare_starts=0)
    task = url_task(pages.url("second.html"), "Say what the page tells you.", task_id="judge-live")
    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=180)) as llm:
        env.judge = stop_judge(TrajectoryJudge(llm, samples=2), env)
        try:
            root = await env.reset(task)
            done = await env.step(root.state, env.parse_action(root.state, 'stop("You made it.")'))
        finally:
            await env.close()
    assert done.terminal and 0.0 <= done.reward <= 1.0
    assert done.info["reason"].startswith("the model judged the answer")
    assert done.reward in (0.0, 0.25, 0.5, 0.75, 1.0)  # a mean of two verdicts worth 0, 0.5 or 1
