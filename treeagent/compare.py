"""The same-budget comparison harness: several controllers, the same tasks, model and budgets.

A comparison is a grid of cells (budget level x controller x task). Each cell is one search, run
by `compare_cells.run_cell`, a function from a JSON spec to a JSON row, so the grid runs the same
here or spread over Ray (`treeagent.scaleout`). Rows are appended to a JSONL file as they land (a re-run skips
the cells already there); `summarise` folds them into one row per (controller, budget level):
success rate, LLM calls, tokens, expansions and wall time; `plot` draws success against budget.

Environments: anything `treeagent run` takes (game24, openspiel:GAME, module:Class), searched by
the controllers of `treeagent.search` with a uniform or LLM policy; or a coding problem set
(`humaneval`, `code:FILE.jsonl`), searched by the coding solvers, where success means passing the
hidden tests and the budget is counted in LLM calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from treeagent.results import append_result, read_results
from treeagent.search import CONTROLLERS, Budget, Controller
from treeagent.search.knobs import KnobError, check_knobs, controller_knobs, describe_knobs

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
    policy: Literal["uniform", "llm"] = "uniform"
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
        try:
            Budget(**level)
        except ValueError as exc:
            raise CompareError(f"bad budget {level}: {exc}") from None
    return levels


def budget_label(budget: dict[str, Any]) -> str:
    short = {v: k for k, v in BUDGET_NAMES.items()}
    return " ".join(f"{short[k]}={v:g}" if isinstance(v, float) else f"{short[k]}={v}" for k, v in budget.items())


def check_config(config: CompareConfig) -> None:
    """Controllers, knobs and budgets that can run on this environment, or a clear error."""
    if config.coding:
        from treeagent.coding.solvers import SOLVERS

        unknown = [c for c in config.controllers if c not in SOLVERS]
        if unknown:
            raise CompareError(f"unknown coding solver(s) {', '.join(unknown)}; choose from: {', '.join(SOLVERS)}")
        for level in config.budgets:
            if set(level) - {"max_llm_calls", "max_seconds"} or "max_llm_calls" not in level:
                raise CompareError("coding solvers count their budget in LLM calls: use --budget llm_calls=N[,M,...]")
        if config.knobs:
            raise CompareError("--set knobs apply to the search controllers, not to the coding solvers")
        return
    unknown = [c for c in config.controllers if c not in CONTROLLERS]
    if unknown:
        raise CompareError(f"unknown controller(s) {', '.join(unknown)}; choose from: {', '.join(CONTROLLERS)}")
    for knob in config.knobs:
        target, _, name = knob.rpartition(".")
        names = [target] if target else config.controllers
        if target and target not in config.controllers:
            raise CompareError(f"--set {knob}: {target} is not one of the controllers compared")
        if not any(name in controller_params(CONTROLLERS[c]) for c in names):
            knobs = "; ".join(f"{c}: {describe_knobs(CONTROLLERS[c])}" for c in names)
            raise CompareError(f"--set {knob}: no compared controller takes a knob named {name!r}; the knobs: {knobs}")
    for name in config.controllers:
        try:
            check_knobs(CONTROLLERS[name], knobs_for(name, config.knobs))
        except KnobError as exc:
            raise CompareError(f"--set: {exc}") from None


def controller_params(cls: type[Controller]) -> set[str]:
    return set(controller_knobs(cls))


def knobs_for(name: str, knobs: dict[str, Any]) -> dict[str, Any]:
    """The knobs one controller takes: `name.knob=...` ones, and unprefixed ones it accepts."""
    accepted = controller_params(CONTROLLERS[name])
    out: dict[str, Any] = {}
    for key, value in knobs.items():
        target, _, knob = key.rpartition(".")
        if (target == name or not target) and knob in accepted:
            out[knob] = value
    return out


def cells(config: CompareConfig, base_url: str | None = None) -> list[dict[str, Any]]:
    """One spec per (budget level, controller, task), in that order; each a JSON object."""
    shared = config.model_dump(exclude={"controllers", "budgets", "tasks"})
    return [
        {**shared, "controller": name, "level": level, "budget": budget, "task": task, "base_url": base_url}
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


def read_rows(path: Path, config: CompareConfig) -> dict[str, dict[str, Any]]:
    """Rows already in a results file (by cell key); an error if another configuration wrote them."""
    return read_results(path, config.identity(), key="key", kind="compare")


def varying_budget(config: CompareConfig) -> str | None:
    """The Budget field whose value changes across levels (the plot's x axis)."""
    if len(config.budgets) < 2:
        return None
    for field in config.budgets[0]:
        if len({str(b.get(field)) for b in config.budgets}) > 1:
            return field
    return None


def can_plot() -> bool:
    """Whether matplotlib (the `integrations` extra) is there to draw the plot."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def plot(config: CompareConfig, summary: Sequence[SummaryRow], path: str | os.PathLike[str]) -> Path:
    """Success rate against budget, one line per controller, as a PNG (no display needed)."""
    from matplotlib.figure import Figure

    field = varying_budget(config) or next(iter(config.budgets[0]))
    short = {v: k for k, v in BUDGET_NAMES.items()}[field]
    figure = Figure(figsize=(6.4, 4.2), dpi=100)
    axes = figure.add_subplot()
    for name in config.controllers:
        mine = sorted((r for r in summary if r.controller == name), key=lambda r: r.level)
        axes.plot([r.budget[field] for r in mine], [r.success for r in mine], marker="o", label=name)
    axes.set_xlabel(f"budget ({short} per task)")
    axes.set_ylabel("success rate")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title(f"{config.env}: {len(config.tasks)} tasks, same budget per controller")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png")
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
    base_url: str | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> CompareReport:
    """Run every cell not already in `out` (here, or on Ray inside `scaleout.ray_cluster`), append
    each row to `out` as it lands, and summarise all of them."""
    from treeagent.compare_cells import run_cell
    from treeagent.scaleout import run_tasks

    check_config(config)
    path = Path(out) if out is not None else None
    done = read_rows(path, config) if path is not None else {}
    specs = cells(config, base_url)
    wanted = {cell_key(s) for s in specs}
    resumed = [row for key, row in done.items() if key in wanted]
    todo = [s for s in specs if cell_key(s) not in done]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    identity = config.identity()

    async def landed(index: int, row: Any) -> None:
        row["config"] = identity
        if path is not None:
            await append_result(path, row)
        if on_result is not None:
            on_result(row)

    fresh = await run_tasks(run_cell, todo, use_ray=use_ray, jobs=jobs, on_result=landed)
    order = {cell_key(s): i for i, s in enumerate(specs)}
    rows = sorted([*resumed, *fresh], key=lambda r: order[r["key"]])
    return CompareReport(
        config=config,
        rows=rows,
        summary=summarise(config, rows),
        resumed=len(resumed),
        results=str(path) if path is not None else None,
    )
