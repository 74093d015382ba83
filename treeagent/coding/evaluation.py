"""The per-problem eval runner: many problems, one solver, one budget; results appended to a JSONL
file as each problem finishes, so a re-run skips the finished problems (resume after a kill).

The summary counts pass@1 on the hidden tests: the share of problems whose chosen answer passes
them. Tokens, LLM calls and wall time are totals over the problems (wall time is the sum of the
problems' own times, which `--jobs` overlaps).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from treeagent.agents.llm_client import LLMClient
from treeagent.coding.solve import CodeSolution, asolve_code
from treeagent.coding.solvers import DEFAULT_SOLVER
from treeagent.environments.code import CodeProblem
from treeagent.results import run_resumable
from treeagent.sandbox.testing import SandboxLike


class EvalSummary(BaseModel):
    """What an eval run measured (one JSON object with `--json`)."""

    solver: str
    budget_calls: int
    problems: int
    passed: int
    pass1: float
    solved_public: int
    llm_calls: int
    tokens: int
    wall_s: float
    resumed: int = 0
    results: str | None = None


def _config(solver: str, budget_calls: int, seed: int, early_stop: bool) -> dict[str, Any]:
    return {"solver": solver, "budget_calls": budget_calls, "seed": seed, "early_stop": early_stop}


def summarise(rows: Sequence[dict[str, Any]], solver: str, budget_calls: int) -> EvalSummary:
    n = len(rows)
    passed = sum(bool(r["passed"]) for r in rows)
    return EvalSummary(
        solver=solver,
        budget_calls=budget_calls,
        problems=n,
        passed=passed,
        pass1=round(passed / n, 4) if n else 0.0,
        solved_public=sum(bool(r["public_total"]) and r["public_passed"] == r["public_total"] for r in rows),
        llm_calls=sum(int(r["llm_calls"]) for r in rows),
        tokens=sum(int(r["tokens"]) for r in rows),
        wall_s=round(sum(float(r["wall_s"]) for r in rows), 3),
    )


async def run_eval(
    problems: Sequence[CodeProblem],
    *,
    llm: LLMClient,
    sandbox: SandboxLike,
    solver: str = DEFAULT_SOLVER,
    budget_calls: int = 16,
    out: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    seed: int = 0,
    early_stop: bool = True,
    width: int | None = None,
    concurrency: int = 4,
    traces: str | os.PathLike[str] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> EvalSummary:
    """Solve every problem not already in `out`; append one line per problem; summarise all."""
    config = _config(solver, budget_calls, seed, early_stop)
    path = Path(out) if out is not None else None
    trace_dir = Path(traces) if traces is not None else None

    async def solve(index: int) -> dict[str, Any]:
        problem = problems[index]
        trace = trace_dir / f"{problem.id.replace('/', '_')}.trace.jsonl" if trace_dir else None
        solution: CodeSolution = await asolve_code(
            problem,
            solver=solver,
            budget_calls=budget_calls,
            width=width,
            concurrency=concurrency,
            seed=seed,
            early_stop=early_stop,
            trace=trace,
            llm=llm,
            sandbox=sandbox,
        )
        return {**solution.summary(), "program": solution.solution}

    rows, resumed = await run_resumable(
        [p.id for p in problems], solve, config=config, path=path, jobs=jobs, on_result=on_result
    )
    summary = summarise(rows, solver, budget_calls)
    summary.resumed = resumed
    summary.results = str(path) if path is not None else None
    return summary
