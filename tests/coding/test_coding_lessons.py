"""Coding lessons (Reflexion) go through the search's reflector path: traced as lesson records,
restored on resume without a second call, and carried into the revision prompt; the solver's calls
come from the controller's one budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.llm.client import LLMClient
from treeagent.coding import build_solver
from treeagent.environments.code import CodeEnv
from treeagent.sandbox import ProcessSandbox
from treeagent.search import SearchResult, last_run, read_records

from .conftest import MakeLLM
from .test_coding_solvers_cassette import _planted

pytestmark = pytest.mark.asyncio(loop_scope="session")
BUDGET = 6


async def _reflexion(llm: LLMClient, sandbox: ProcessSandbox, trace: Path, resume: bool = False) -> SearchResult:
    setup = build_solver("reflexion", llm, budget_calls=BUDGET, concurrency=1, trace=trace)
    setup.controller.resume = resume
    env = CodeEnv(sandbox)
    try:
        return await setup.controller.run(env, _planted().task())
    finally:
        await env.close()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cut_after(source: Path, target: Path, wanted: Any) -> None:
    lines = source.read_text().splitlines(keepends=True)
    for index, record in enumerate(read_records(source)):
        if wanted(record):
            target.write_text("".join(lines[: index + 1]))
            return
    raise AssertionError("no such record")


async def test_lessons_are_traced_and_restored_on_resume(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    llm = cassette_llm("resume_reflexion")
    full = tmp_path / "full.jsonl"
    result = await _reflexion(llm, code_sandbox, full)
    records = list(read_records(full))
    calls = [r for r in records if r["type"] == "llm"]
    assert [r["tag"] for r in calls[:3]] == ["write", "reflect", "revise"]
    assert result.stats.llm_calls == sum(r["returned"] for r in calls) <= BUDGET
    lesson = next(r for r in records if r["type"] == "lesson")
    assert lesson["text"] and _flat(lesson["text"])[:40] in _flat(calls[1]["texts"][0])
    assert _flat(lesson["text"])[:40] in _flat(calls[2]["messages"][-1]["content"])

    # killed as the revision's reply came back: the lesson is in the trace, the revision is not
    killed = tmp_path / "killed.jsonl"
    _cut_after(full, killed, lambda r: r["type"] == "llm" and r["tag"] == "revise")
    resumed = await _reflexion(llm, code_sandbox, killed, resume=True)
    run = last_run(killed)
    new_calls = [r for r in run if r["type"] == "llm" and not r.get("resumed")]
    assert "reflect" not in [r["tag"] for r in new_calls[:1]], "the lesson came from the trace, not the model"
    assert any(r["type"] == "lesson" and r.get("resumed") and r["text"] == lesson["text"] for r in run)
    revise = next(r for r in new_calls if r["tag"] == "revise")
    assert _flat(lesson["text"])[:40] in _flat(revise["messages"][-1]["content"])
    spent = sum(r["returned"] for r in read_records(killed) if r["type"] == "llm" and not r.get("resumed"))
    assert resumed.stats.llm_calls == spent <= BUDGET
