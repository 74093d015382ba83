"""BFCL multi-turn runs: one controller, one budget of LLM calls per task, BFCL's verdict per task.

Rows are appended to a JSONL file as each task finishes (a re-run skips finished tasks, as the
coding eval does). The verdict is BFCL's multi-turn checker on the calls of the path the search
returns; a search that "finished" (answered every turn) may still fail it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from treeagent.agents.base import Evaluator, NodeView
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.tools.policy import Mode, ToolPolicy
from treeagent.environments.base import Task
from treeagent.environments.tools.bfcl import BFCLEnv, call_strings, judge
from treeagent.environments.tools.env import ToolState
from treeagent.registry import CONTROLLERS
from treeagent.runner import CellEvent, run_cells
from treeagent.search import Budget, Controller, SearchResult

#: the registry's controllers wired for tool tasks
TOOL_CONTROLLERS = ("react", "dfsdt", "best_first")


class BFCLSummary(BaseModel):
    """What a BFCL run measured (one JSON object with `--json`)."""

    controller: str
    category: str
    budget_calls: int
    tasks: int
    successes: int
    success_rate: float
    finished: int
    llm_calls: int
    tokens: int
    wall_s: float
    resumed: int = 0
    results: str | None = None


def canonical_controller(name: str) -> str:
    """The registry's spelling of `name`, if it is wired for tool tasks (else `UnknownRecipe`)."""
    return CONTROLLERS.canonical(name, among=TOOL_CONTROLLERS, where=" for tool tasks")


def build_controller(
    name: str,
    llm: LLMClient,
    budget_calls: int,
    *,
    seed: int = 0,
    width: int | None = None,
    trace: str | os.PathLike[str] | None = None,
    mode: Mode = "auto",
    max_depth: int = 40,
) -> Controller:
    """The named controller with the tool policy, on a budget of `budget_calls` LLM calls."""
    key = canonical_controller(name)
    budget = Budget(max_llm_calls=budget_calls)
    common: dict[str, Any] = {"budget": budget, "seed": seed, "trace": trace, "max_depth": max_depth}
    recipe = CONTROLLERS[key]
    if key == "react":
        return recipe(ToolPolicy(llm, mode=mode, show_tried=False), **common)
    if key == "dfsdt":
        return recipe(ToolPolicy(llm, mode=mode), width=width or 3, **common)
    # The budget is checked before each expansion, and the `branching` evaluations an expansion
    # starts finish after it: best-first gets that much less, so it ends within `budget_calls` too.
    branching = width or 2
    common["budget"] = Budget(max_llm_calls=max(1, budget_calls - branching))
    policy = ToolPolicy(llm, mode=mode, show_tried=False, allow_give_up=False)
    evaluator = BelowDone(LLMSelfEvaluator(llm, votes=1))
    return recipe(policy, evaluator, width=branching, **common)


class BelowDone:
    """An evaluator whose scores of unfinished states stay below 1, so that only a finished episode
    ends best-first (a small model's self-evaluation says "10/10" about half-done work)."""

    def __init__(self, inner: Evaluator, cap: float = 0.95) -> None:
        self.inner = inner
        self.cap = cap

    async def value(self, view: NodeView) -> float:
        score = float(await self.inner.value(view))
        return score if view.step.terminal else min(score, self.cap)


def _config(controller: str, category: str, budget_calls: int, seed: int) -> dict[str, Any]:
    return {"suite": "bfcl", "controller": controller, "category": category, "budget_calls": budget_calls, "seed": seed}


def result_row(result: SearchResult, category: str) -> dict[str, Any]:
    """One task's row: BFCL's verdict on the returned path, and what the search spent."""
    step = result.best.step
    state = step.state if step is not None else None
    if not isinstance(state, ToolState):
        verdict: dict[str, Any] = {"valid": False, "error_message": "the search returned no state"}
        calls: list[list[list[str]]] = []
    else:
        verdict = judge(state, category)
        calls = call_strings(state)
    s = result.stats
    return {
        "id": result.task.id,
        "success": bool(verdict.get("valid")),
        "finished": bool(state is not None and state.finished and not state.gave_up),
        "error_type": verdict.get("error_type"),
        "stop_reason": result.stop_reason,
        "llm_calls": s.llm_calls,
        "tokens": s.tokens,
        "env_steps": s.env_steps,
        "nodes": len(result.tree),
        "failed_nodes": s.failed_nodes,
        "calls": calls,
    }


def summarise(rows: Sequence[dict[str, Any]], controller: str, category: str, budget_calls: int) -> BFCLSummary:
    n = len(rows)
    successes = sum(bool(r["success"]) for r in rows)
    return BFCLSummary(
        controller=controller,
        category=category,
        budget_calls=budget_calls,
        tasks=n,
        successes=successes,
        success_rate=round(successes / n, 4) if n else 0.0,
        finished=sum(bool(r["finished"]) for r in rows),
        llm_calls=sum(int(r["llm_calls"]) for r in rows),
        tokens=sum(int(r["tokens"]) for r in rows),
        wall_s=round(sum(float(r["wall_s"]) for r in rows), 3),
    )


async def run_bfcl(
    tasks: Sequence[Task],
    *,
    llm: LLMClient,
    controller: str = "dfsdt",
    budget_calls: int = 16,
    category: str = "multi_turn_base",
    out: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    seed: int = 0,
    width: int | None = None,
    traces: str | os.PathLike[str] | None = None,
    mode: Mode = "auto",
    on_event: Callable[[CellEvent], None] | None = None,
) -> BFCLSummary:
    """Search every task not already in `out`; append one row per task; summarise them all."""
    name = canonical_controller(controller)
    config = _config(name, category, budget_calls, seed)
    path = Path(out) if out is not None else None
    trace_dir = Path(traces) if traces is not None else None
    if trace_dir is not None:
        trace_dir.mkdir(parents=True, exist_ok=True)
    env = BFCLEnv()

    by_id = {t.id: t for t in tasks}

    async def solve(spec: dict[str, Any]) -> dict[str, Any]:
        task = by_id[spec["id"]]
        trace = trace_dir / f"{task.id}.{name}.trace.jsonl" if trace_dir else None
        ctl = build_controller(name, llm, budget_calls, seed=seed, width=width, trace=trace, mode=mode)
        result = await ctl.run(env, task)
        return await asyncio.to_thread(result_row, result, category)

    cells = [(t.id, {"id": t.id}) for t in tasks]
    report = await run_cells(solve, cells, config=config, out=path, jobs=jobs, on_event=on_event)
    summary = summarise(report.rows, name, category, budget_calls)
    summary.resumed = report.resumed
    summary.results = report.results
    return summary
