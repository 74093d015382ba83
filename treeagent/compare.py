"""The same-budget comparison harness: several controllers, the same tasks, model and budgets.

A comparison is a grid of cells (budget level x controller x task). Each cell is one search, run
by `run_cell`, a function from a JSON spec to a JSON row, on the experiment runner (here, or one Ray
task per cell); rows are appended to a JSONL file as they land (a re-run skips the cells already
there); `summarise` folds them into one row per (controller, budget level): success rate, LLM
calls, tokens, expansions and wall time.

Environments: anything `treeagent run` takes (game24, openspiel:GAME, module:Class), searched by
the registry's controllers with its policies and evaluators; or a coding problem set (`humaneval`,
`code:FILE.jsonl`), searched by the registry's coding solvers, where success means passing the
hidden tests and the budget is counted in LLM calls.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from treeagent.registry import (
    CONTROLLERS,
    EVALUATORS,
    POLICIES,
    SOLVERS,
    controller_knob_values,
    controller_max_depth,
    controller_takes,
    make,
    normalise,
    search_agents,
    search_controller,
)
from treeagent.runner import CellEvent, run_cells
from treeagent.search import Budget
from treeagent.search.knobs import KnobError

CODING_ENVS = ("humaneval", "code:FILE.jsonl")
#: short budget names, as on the command line, and the Budget field each one sets
BUDGET_NAMES = {
    "expansions": "max_expansions",
    "llm_calls": "max_llm_calls",
    "tokens": "max_tokens",
    "env_steps": "max_env_steps",
    "seconds": "max_seconds",
}


class CompareError(ValueError):
    """A comparison that cannot run as asked; the message says what to change."""


class CompareConfig(BaseModel):
    """What every cell of a comparison shares (written into each result row)."""

    model_config = ConfigDict(extra="forbid")

    env: str
    controllers: list[str] = Field(min_length=1)
    #: one Budget (its fields) per level; the same for every controller
    budgets: list[dict[str, Any]] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    policy: str = "uniform"
    evaluator: str = "auto"
    knobs: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    concurrency: int = Field(default=1, ge=1)

    @property
    def coding(self) -> bool:
        return is_coding_env(self.env)

    def identity(self) -> dict[str, Any]:
        """The settings a results file must share to be resumed (not the task list)."""
        return self.model_dump(exclude={"tasks"})


def is_coding_env(env: str) -> bool:
    return env.lower() in ("humaneval", "human-eval", "human_eval") or env.startswith("code:")


def coding_source(env: str) -> str:
    return env.split(":", 1)[1] if env.startswith("code:") else "humaneval"


def parse_budget_levels(items: Sequence[str]) -> list[dict[str, Any]]:
    """`["expansions=10,50,200", "seconds=30"]` -> one Budget per level. At most one name may list
    several values (the x axis of the plot); a single value applies to every level."""
    fixed: dict[str, Any] = {}
    varying: tuple[str, list[Any]] | None = None
    for item in items:
        key, sep, raw = item.partition("=")
        name = key.strip().replace("-", "_").removeprefix("max_")
        if not sep or name not in BUDGET_NAMES:
            raise CompareError(
                f"bad --budget {item!r}: write NAME=V1[,V2,...] with NAME one of {', '.join(BUDGET_NAMES)}"
            )
        cast: Callable[[str], Any] = float if name == "seconds" else int
        try:
            values = [cast(v) for v in raw.split(",") if v.strip()]
        except ValueError:
            raise CompareError(f"bad --budget {item!r}: {raw!r} is not a list of numbers") from None
        if not values:
            raise CompareError(f"bad --budget {item!r}: no value")
        field = BUDGET_NAMES[name]
        if len(values) == 1:
            fixed[field] = values[0]
        elif varying is not None:
            raise CompareError(f"only one budget may list several values; {varying[0]} and {field} both do")
        else:
            varying = (field, sorted(set(values)))
    if not fixed and varying is None:
        raise CompareError("give a budget, e.g. --budget expansions=20,50,100")
    levels = [{**fixed, varying[0]: v} for v in varying[1]] if varying else [dict(fixed)]
    for level in levels:
        check_budget(level)
    return levels


def check_budget(fields: dict[str, Any]) -> None:
    """A `CompareError` in one line (no validation dump) when these Budget fields cannot be one."""
    try:
        Budget(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0] if e['loc'] else 'budget'}: {e['msg'].lower()}" for e in exc.errors())
        raise CompareError(f"bad budget {budget_label(fields)}: {problems}") from None


def budget_label(budget: dict[str, Any]) -> str:
    short = {v: k for k, v in BUDGET_NAMES.items()}
    return " ".join(f"{short[k]}={v:g}" if isinstance(v, float) else f"{short[k]}={v}" for k, v in budget.items())


def check_config(config: CompareConfig) -> CompareConfig:
    """The config with every name in its one spelling, if its controllers, knobs and budgets can
    run on this environment; else a `CompareError` (or the registry's `UnknownRecipe`) saying why."""
    names = [(SOLVERS if config.coding else CONTROLLERS).canonical(c) for c in config.controllers]
    if len(set(names)) != len(names):
        raise CompareError(f"--controllers names one controller twice: {', '.join(config.controllers)}")
    if config.coding:
        for level in config.budgets:
            if set(level) - {"max_llm_calls", "max_seconds"} or "max_llm_calls" not in level:
                raise CompareError("coding solvers count their budget in LLM calls: use --budget llm_calls=N[,M,...]")
        if config.knobs:
            raise CompareError("--set knobs apply to the search controllers, not to the coding solvers")
        return config.model_copy(update={"controllers": names})
    policy, evaluator = POLICIES.canonical(config.policy), EVALUATORS.canonical(config.evaluator)
    knobs = {_knob_key(k): v for k, v in config.knobs.items()}
    for knob in knobs:
        target, _, name = knob.rpartition(".")
        chosen = [target] if target else names
        if target and target not in names:
            raise CompareError(f"--set {knob}: {target} is not one of the controllers compared")
        if not any(name in controller_takes(c) for c in chosen):
            described = "; ".join(f"{c}: {CONTROLLERS[c].knobs}" for c in chosen)
            raise CompareError(
                f"--set {knob}: no compared controller takes a knob named {name!r}; the knobs: {described}"
            )
    for name in names:
        try:
            controller_knob_values(name, knobs_for(name, knobs))
        except KnobError as exc:
            raise CompareError(f"--set: {exc}") from None
    return config.model_copy(update={"controllers": names, "policy": policy, "evaluator": evaluator, "knobs": knobs})


def _knob_key(key: str) -> str:
    target, dot, name = key.rpartition(".")
    return f"{normalise(target)}{dot}{name}"


def knobs_for(name: str, knobs: dict[str, Any]) -> dict[str, Any]:
    """The knobs one controller takes: `name.knob=...` ones, and unprefixed ones it accepts."""
    accepted = controller_takes(name)
    out: dict[str, Any] = {}
    for key, value in knobs.items():
        target, _, knob = key.rpartition(".")
        if (target == name or not target) and knob in accepted:
            out[knob] = value
    return out


def cells(config: CompareConfig, worker_llm: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One spec per (budget level, controller, task), in that order; each a JSON object."""
    shared = config.model_dump(exclude={"controllers", "budgets", "tasks"})
    return [
        {**shared, "controller": name, "level": level, "budget": budget, "task": task, "llm": worker_llm}
        for level, budget in enumerate(config.budgets)
        for name in config.controllers
        for task in config.tasks
    ]


def cell_key(spec: dict[str, Any]) -> str:
    return f"{spec['level']}|{spec['controller']}|{spec['task']}"


class SummaryRow(BaseModel):
    """One controller at one budget level, over every task."""

    controller: str
    level: int
    budget: dict[str, Any]
    tasks: int
    solved: int
    success: float
    llm_calls: int
    tokens: int
    expansions: int
    wall_s: float

    @property
    def label(self) -> str:
        return budget_label(self.budget)


def summarise(config: CompareConfig, rows: Sequence[dict[str, Any]]) -> list[SummaryRow]:
    """One row per (budget level, controller), in the config's order."""
    out = []
    for level, budget in enumerate(config.budgets):
        for name in config.controllers:
            mine = [r for r in rows if r["level"] == level and r["controller"] == name]
            n = len(mine)
            solved = sum(bool(r["solved"]) for r in mine)
            out.append(
                SummaryRow(
                    controller=name,
                    level=level,
                    budget=budget,
                    tasks=n,
                    solved=solved,
                    success=round(solved / n, 4) if n else 0.0,
                    llm_calls=sum(int(r["llm_calls"]) for r in mine),
                    tokens=sum(int(r["tokens"]) for r in mine),
                    expansions=sum(int(r["expansions"]) for r in mine),
                    wall_s=round(sum(float(r["wall_s"]) for r in mine), 3),
                )
            )
    return out


class CompareReport(BaseModel):
    """What `run_compare` returns: every cell's row and the summary table."""

    config: CompareConfig
    rows: list[dict[str, Any]]
    summary: list[SummaryRow]
    resumed: int = 0
    results: str | None = None


async def run_compare(
    config: CompareConfig,
    *,
    out: str | os.PathLike[str] | None = None,
    use_ray: bool = False,
    jobs: int = 1,
    worker_llm: dict[str, Any] | None = None,
    on_event: Callable[[CellEvent], None] | None = None,
) -> CompareReport:
    """Run every cell not already in `out` (here, or on Ray inside `ray_backend.ray_cluster`),
    append each row to `out` as it lands, and summarise all of them. `worker_llm`: the model
    client's settings (LLMConfig fields, no API key) every search uses."""
    config = check_config(config)
    path = Path(out) if out is not None else None
    specs = cells(config, worker_llm)
    report = await run_cells(
        run_cell,
        [(cell_key(s), s) for s in specs],
        config=config.identity(),
        out=path,
        key="key",
        jobs=jobs,
        use_ray=use_ray,
        on_event=on_event,
        kind="compare",
    )
    return CompareReport(
        config=config,
        rows=report.rows,
        summary=summarise(config, report.rows),
        resumed=report.resumed,
        results=report.results,
    )


async def run_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """One search of one cell; its row: solved, spending, wall time (a JSON object)."""
    started = time.perf_counter()
    row = await (_coding_cell(spec) if is_coding_env(spec["env"]) else _search_cell(spec))
    return {
        "key": cell_key(spec),
        "controller": spec["controller"],
        "level": spec["level"],
        "budget": spec["budget"],
        **row,
        "cell_s": round(time.perf_counter() - started, 3),
    }


async def _search_cell(spec: dict[str, Any]) -> dict[str, Any]:
    from contextlib import AsyncExitStack

    text = spec["task"]
    env, task = make(spec["env"], None, text) if text.lstrip().startswith("{") else make(spec["env"], text)
    name = spec["controller"]
    async with AsyncExitStack() as stack:
        llm = None
        if POLICIES[spec["policy"]].needs_llm or EVALUATORS[spec["evaluator"]].needs_llm:
            from treeagent.agents.llm.client import LLMClient
            from treeagent.agents.llm.config import LLMConfig

            llm = await stack.enter_async_context(LLMClient(LLMConfig.load(**spec.get("llm") or {})))
        knobs = knobs_for(name, spec["knobs"])
        depth = controller_max_depth(name, knobs)
        policy, evaluator = search_agents(spec["policy"], spec["evaluator"], llm, env=env, max_depth=depth)
        controller = search_controller(
            name,
            spec["policy"],
            policy,
            evaluator,
            budget=Budget(**spec["budget"]),
            seed=spec["seed"],
            concurrency=spec["concurrency"],
            **knobs,
        )
        try:
            result = await controller.run(env, task)
        finally:
            await env.close()
    s = result.stats
    return {
        "task": task.id,
        "solved": result.solved,
        "stop_reason": result.stop_reason,
        "best_actions": result.best_texts,
        "expansions": s.expansions,
        "env_steps": s.env_steps,
        "llm_calls": s.llm_calls,
        "tokens": s.tokens,
        "nodes": len(result.tree),
        "wall_s": s.wall_seconds,
    }


async def _coding_cell(spec: dict[str, Any]) -> dict[str, Any]:
    from treeagent.coding.evaluation import solve_problem

    budget = spec["budget"]
    row = await solve_problem(
        {
            "source": coding_source(spec["env"]),
            "id": spec["task"],
            "solver": spec["controller"],
            "budget_calls": int(budget["max_llm_calls"]),
            "max_seconds": budget.get("max_seconds"),
            "concurrency": spec["concurrency"],
            "seed": spec["seed"],
            "llm": spec.get("llm") or {},
        }
    )
    return {**row, "task": row["id"], "solved": row["passed"]}
