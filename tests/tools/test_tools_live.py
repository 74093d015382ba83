"""Tool search against the real local model (SmolLM2-135M on the shared vLLM server).

The tiny model rarely solves a BFCL task; these tests check the machinery: the policy finds out
whether the server does native tool calls and falls back to JSON, the search runs within its
budget, the trace records what happened, and the CLI's results file resumes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from treeagent.agents.llm.client import LLMClient, LLMRequestError, Sampling
from treeagent.cli.main import app
from treeagent.environments.tools.bfcl import BFCLEnv, load_tasks
from treeagent.search import read_records
from treeagent.tools.suite import build_controller, result_row

pytestmark = [pytest.mark.llm]
pytest.importorskip("bfcl_eval", reason="pip install --no-deps bfcl-eval==2026.3.23 mpmath (scripts/test.sh does)")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.asyncio(loop_scope="session")
async def test_dfsdt_on_bfcl_tasks_with_the_real_model(tools_llm: LLMClient, tmp_path: Path) -> None:
    probe = [{"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}}]
    try:  # does this server do native tool calls? (vLLM needs --enable-auto-tool-choice for it)
        await tools_llm.complete([{"role": "user", "content": "hi"}], tools=probe, sampling=Sampling(max_tokens=1))
        refused = False
    except LLMRequestError:
        refused = True
    env = BFCLEnv()
    for task in load_tasks("multi_turn_base", limit=2):
        trace = tmp_path / f"{task.id}.jsonl"
        search = build_controller("dfsdt", tools_llm, budget_calls=2, trace=trace)
        result = await search.run(env, task)
        assert result.stats.llm_calls <= 2
        assert result.stats.expansions >= 1 and len(result.tree) >= 2
        policy: Any = search.policy
        assert policy.native is (not refused)  # detected from the server's answer to `tools`
        records = list(read_records(trace))
        kinds = [r["type"] for r in records]
        assert kinds[0] == "run" and kinds[-1] == "end"
        assert kinds.count("llm") == result.stats.llm_calls
        assert kinds.count("node") >= len(result.tree)
        for node in result.tree.nodes[1:]:
            assert node.failed or node.step is not None
            assert node.parent is not None and node.depth == node.parent.depth + 1
        row = result_row(result, "multi_turn_base")
        assert row["id"] == task.id and isinstance(row["success"], bool)
        assert row["llm_calls"] == result.stats.llm_calls and row["nodes"] == len(result.tree)


def test_eval_bfcl_command_writes_results_and_resumes(live_base_url: str, tmp_path: Path) -> None:
    out = tmp_path / "bfcl.jsonl"
    args = ["eval", "bfcl", "--category", "multi_turn_base", "--controller", "dfsdt", "--budget-calls", "2"]
    args += ["--limit", "1", "--out", str(out), "--base-url", live_base_url, "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output.strip().splitlines()[-1])
    assert summary["tasks"] == 1 and summary["resumed"] == 0 and summary["controller"] == "dfsdt"
    assert 1 <= summary["llm_calls"] <= 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["multi_turn_base_0"]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.output.strip().splitlines()[-1])
    assert resumed["resumed"] == 1 and resumed["llm_calls"] == summary["llm_calls"]
    assert len(out.read_text().splitlines()) == 1


def test_the_tools_example_runs_against_the_model(live_base_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "tools_agent.py"),
            "--base-url",
            live_base_url,
            "--budget-calls",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert 1 <= outcome["llm_calls"] <= 2 and outcome["nodes"] >= 2
    assert isinstance(outcome["task_done"], bool)
