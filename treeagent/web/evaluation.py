"""`treeagent eval miniwob`: a web controller on many MiniWoB++ episodes, one JSONL row per
episode (written as each finishes, so a killed run resumes where it stopped), and the success rate.

An episode is a task type and a seed; rows are reused only when they were written with the same
configuration (controller, budget, knobs), so changing a knob never mixes results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from treeagent.agents.base import SearchStop
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.types import LLMError
from treeagent.environments.web import WebEnv, miniwob_task
from treeagent.runner import CellEvent, run_cells
from treeagent.web.agents import WebSearchConfig, make_controller


@dataclass
class MiniWobSummary:
    episodes: int = 0
    solved: int = 0
    resumed: int = 0
    llm_calls: int = 0
    wall_s: float = 0.0
    controller: str = ""
    by_task: dict[str, list[int]] = field(default_factory=dict)
    results: str = ""

    @property
    def success_rate(self) -> float:
        return self.solved / self.episodes if self.episodes else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "solved": self.solved,
            "success_rate": round(self.success_rate, 4),
            "controller": self.controller,
            "llm_calls": self.llm_calls,
            "wall_s": round(self.wall_s, 2),
            "resumed": self.resumed,
            "by_task": {k: f"{v[0]}/{v[1]}" for k, v in self.by_task.items()},
            "results": self.results,
        }


async def run_miniwob_eval(
    tasks: Sequence[str],
    seeds: Sequence[int],
    *,
    llm: LLMClient,
    config: WebSearchConfig,
    out: Path,
    traces: Path | None = None,
    env: WebEnv | None = None,
    on_event: Callable[[CellEvent], None] | None = None,
) -> MiniWobSummary:
    """Search every (task, seed) episode with `config`, one at a time (they share the browser);
    append a row per episode to `out`."""
    episodes = {t.id: t for t in (miniwob_task(name, seed) for name in tasks for seed in seeds)}
    own_env = env is None
    environment = env or WebEnv(max_live=6)

    async def episode(spec: dict[str, Any]) -> dict[str, Any]:
        return await _episode(environment, llm, config, episodes[spec["id"]], traces)

    try:
        report = await run_cells(
            episode,
            [(key, {"id": key}) for key in episodes],
            config=config.model_dump(mode="json"),
            out=out,
            on_event=on_event,
        )
    finally:
        if own_env:
            await environment.close()
    summary = MiniWobSummary(controller=config.controller, results=str(out), resumed=report.resumed)
    for row in report.rows:
        _count(summary, row)
    return summary


async def _episode(
    env: WebEnv, llm: LLMClient, config: WebSearchConfig, task: Any, traces: Path | None
) -> dict[str, Any]:
    name = task.data["name"]
    trace = traces / f"{name}-{task.data['seed']}-{config.controller}.jsonl" if traces is not None else None
    controller = make_controller(llm, config, trace=trace)
    started = time.monotonic()
    row: dict[str, Any] = {"id": task.id, "task": name, "seed": task.data["seed"], "controller": config.controller}
    try:
        result = await controller.run(env, task)
    except (SearchStop, LLMError):  # the model is misconfigured or gone: no episode's result
        raise
    except Exception as exc:  # the episode could not even start (its page did not load)
        row.update(solved=False, reward=0.0, error=f"{type(exc).__name__}: {exc}", wall_s=time.monotonic() - started)
        return row
    finally:
        await env.forget(task.id)
    step = result.best.step
    row.update(
        solved=result.solved,
        reward=step.reward if step is not None else 0.0,
        stop_reason=result.stop_reason,
        best_actions=result.best_texts,
        nodes=len(result.tree),
        expansions=result.stats.expansions,
        llm_calls=result.stats.llm_calls,
        failed_nodes=result.stats.failed_nodes,
        wall_s=round(time.monotonic() - started, 3),
        error=None,
    )
    return row


def _count(summary: MiniWobSummary, row: dict[str, Any]) -> None:
    summary.episodes += 1
    summary.solved += bool(row.get("solved"))
    summary.llm_calls += int(row.get("llm_calls") or 0)
    summary.wall_s += float(row.get("wall_s") or 0.0)
    tally = summary.by_task.setdefault(str(row.get("task")), [0, 0])
    tally[0] += bool(row.get("solved"))
    tally[1] += 1
