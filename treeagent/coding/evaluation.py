"""The coding eval: many problems, one solver, one budget, on the experiment runner (results
appended as each problem finishes, so a re-run skips the finished ones; here or on Ray).

The summary counts pass@1 on the hidden tests: the share of problems whose chosen answer passes
them. Tokens, LLM calls and wall time are totals over the problems (wall time is the sum of the
problems' own times, which `jobs` overlaps).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from treeagent.agents.llm.client import LLMClient
from treeagent.coding.solve import asolve_code
from treeagent.environments.code import CodeProblem
from treeagent.registry import DEFAULT_SOLVER
from treeagent.runner import CellEvent, run_cells
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


def eval_config(solver: str, budget_calls: int, seed: int, early_stop: bool) -> dict[str, Any]:
    """What a results file must share to be resumed."""
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


def sandbox_uid_base() -> int:
    """Sandbox uids of their own per process, so that workers on one machine share none."""
    return 60000 + (os.getpid() % 1000) * 2


async def solve_problem(
    spec: dict[str, Any],
    llm: LLMClient | None = None,
    sandbox: SandboxLike | None = None,
    problem: CodeProblem | None = None,
) -> dict[str, Any]:
    """One problem's row (the cell of `eval` and `compare`, here or in a Ray worker): the solver
    run on problem `spec["id"]` (loaded from `spec["source"]` unless given), its answer judged.
    Without `llm`/`sandbox` (a worker) it opens its own, on `spec["llm"]` (LLMConfig fields)."""
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.environments.code import load_problems
    from treeagent.sandbox import ProcessSandbox

    if llm is None or sandbox is None:
        async with (
            LLMClient(LLMConfig.load(**spec.get("llm", {}))) as own_llm,
            ProcessSandbox(workers=1, uid_base=sandbox_uid_base()) as own_sandbox,
        ):
            return await solve_problem(spec, llm or own_llm, sandbox or own_sandbox, problem)
    problem = problem or load_problems(spec["source"], ids=[spec["id"]])[0]
    traces = spec.get("traces")
    solution = await asolve_code(
        problem,
        solver=spec["solver"],
        budget_calls=spec["budget_calls"],
        max_seconds=spec.get("max_seconds"),
        width=spec.get("width"),
        concurrency=spec.get("concurrency", 4),
        seed=spec.get("seed", 0),
        early_stop=spec.get("early_stop", True),
        trace=Path(traces) / f"{problem.id.replace('/', '_')}.trace.jsonl" if traces else None,
        llm=llm,
        sandbox=sandbox,
    )
    s = solution.result.stats
    return {**solution.summary(), "program": solution.solution, "expansions": s.expansions, "env_steps": s.env_steps}


async def run_eval(
    problems: Sequence[CodeProblem],
    *,
    llm: LLMClient | None = None,
    sandbox: SandboxLike | None = None,
    solver: str = DEFAULT_SOLVER,
    budget_calls: int = 16,
    out: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    seed: int = 0,
    early_stop: bool = True,
    width: int | None = None,
    concurrency: int = 4,
    traces: str | os.PathLike[str] | None = None,
    source: str | None = None,
    use_ray: bool = False,
    worker_llm: dict[str, Any] | None = None,
    on_event: Callable[[CellEvent], None] | None = None,
) -> EvalSummary:
    """Solve every problem not already in `out`; append one line per problem; summarise all.

    Here, the problems share `llm` and `sandbox`. With `use_ray` (inside `ray_backend.ray_cluster`)
    each is a Ray task that loads its problem from `source` and opens its own client on the
    `worker_llm` settings (LLMConfig fields, no API key) and its own sandbox."""
    config = eval_config(solver, budget_calls, seed, early_stop)
    by_id = {p.id: p for p in problems}
    where, trace_dir = _resolved(source), _resolved(str(traces) if traces else None, must_exist=False)
    shared = {
        "source": where,
        "solver": solver,
        "budget_calls": budget_calls,
        "seed": seed,
        "early_stop": early_stop,
        "width": width,
        "concurrency": concurrency,
        "traces": trace_dir,
        "llm": worker_llm or {},
    }
    cells = [(p.id, {**shared, "id": p.id}) for p in problems]
    if use_ray:
        if where is None:
            raise ValueError("run_eval(use_ray=True) needs `source`: the workers load the problems from it")
        fn: Callable[[dict[str, Any]], Any] = solve_problem
    else:
        if llm is None or sandbox is None:
            raise ValueError("run_eval needs `llm` and `sandbox` (or use_ray=True)")

        async def fn(spec: dict[str, Any]) -> dict[str, Any]:
            return await solve_problem(spec, llm, sandbox, by_id[spec["id"]])

    report = await run_cells(
        fn, cells, config=config, out=Path(out) if out else None, jobs=jobs, use_ray=use_ray, on_event=on_event
    )
    summary = summarise(report.rows, solver, budget_calls)
    summary.resumed = report.resumed
    summary.results = report.results
    return summary


def _resolved(path: str | None, must_exist: bool = True) -> str | None:
    """An absolute path for a worker elsewhere (a problem set's name, like `humaneval`, stays)."""
    if path is None or (must_exist and not Path(path).is_file()):
        return path
    return str(Path(path).resolve())
