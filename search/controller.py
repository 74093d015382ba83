"""The base class of the search controllers: wiring a run, its budget, trace and result."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from treeagent.agents.base import Evaluator, Policy, Reflector
from treeagent.environments.base import Environment, Task
from treeagent.search.budget import Budget, Meter, Stats
from treeagent.search.events import Events, Finished, Listener, LLMCalled, RunStarted, snapshot
from treeagent.search.node import Node
from treeagent.search.result import SearchResult
from treeagent.search.run import SearchRun
from treeagent.search.trace import ResumeCache, TraceWriter, check_trace_path, run_record


class Controller(ABC):
    """Decides which node to expand next; `SearchRun` does the expanding.

    Every controller takes a policy (proposes actions), an optional evaluator (scores nodes; by
    default the environment's reward), a budget, a concurrency limit (expansions and evaluations
    under way at once), a seed, and optionally a trace file to write (and resume from).
    `strict=True` raises the first error of a policy, environment step, evaluator or reflector
    instead of failing that node and going on (for debugging a new environment or policy).
    """

    name: ClassVar[str] = "controller"
    #: `max_depth` when none is given
    default_max_depth: ClassVar[int] = 20

    def __init__(
        self,
        policy: Policy,
        evaluator: Evaluator | None = None,
        *,
        reflector: Reflector | None = None,
        budget: Budget | dict[str, Any] | None = None,
        concurrency: int = 1,
        seed: int = 0,
        max_depth: int | None = None,
        trace: str | os.PathLike[str] | None = None,
        resume: bool = False,
        step_timeout: float | None = None,
        strict: bool = False,
    ) -> None:
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must have an async propose(view, k) method; got {type(policy).__name__}")
        if evaluator is not None and not isinstance(evaluator, Evaluator):
            raise TypeError(f"evaluator must have an async value(view) method; got {type(evaluator).__name__}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_depth is None:
            max_depth = self.default_max_depth
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {max_depth}")
        if resume and trace is None:
            raise ValueError("resume=True needs trace=PATH: the trace of the run to resume")
        self.policy = policy
        self.evaluator = evaluator
        self.reflector = reflector
        self.budget = budget if isinstance(budget, Budget) else Budget(**(budget or {}))
        self.concurrency = concurrency
        self.seed = seed
        self.max_depth = max_depth
        self.trace_path = check_trace_path(trace) if trace is not None else None
        self.resume = resume
        self.step_timeout = step_timeout
        self.strict = strict

    def config(self) -> dict[str, Any]:
        """The knobs of this controller, as written to the trace."""
        return {
            "budget": self.budget.model_dump(exclude_none=True),
            "concurrency": self.concurrency,
            "seed": self.seed,
            "max_depth": self.max_depth,
            "policy": type(self.policy).__name__,
            "evaluator": type(self.evaluator).__name__ if self.evaluator is not None else None,
            "reflector": type(self.reflector).__name__ if self.reflector is not None else None,
        }

    async def run(self, env: Environment[Any, Any], task: Task, *, listener: Listener | None = None) -> SearchResult:
        """Search `task` in `env` until it is solved, the tree is exhausted or the budget is spent.

        `listener` is told what happens as it happens (search/events.py): progress without polling."""
        cache = ResumeCache.load(self.trace_path, self.name, task.id) if self.resume and self.trace_path else None
        writer = TraceWriter(self.trace_path) if self.trace_path is not None else None
        events = Events(listener) if listener is not None else None
        meter = Meter(self.budget)
        meter.record_llm = _llm_recorder(writer, events, meter)
        if cache is not None:
            meter.preload(cache.spent)  # calls made before an interrupt count toward this budget
        try:
            if writer is not None:
                writer.write(
                    run_record(
                        self.name,
                        self.config(),
                        task.model_dump(mode="json"),
                        env.name,
                        self.seed,
                        cache is not None,
                    )
                )
            if events is not None:
                spent = cache.spent if cache is not None else Stats()
                events.emit(RunStarted(self.name, task.id, self.budget, snapshot(spent)))
            root_step = await env.reset(task)
            run = SearchRun(
                env=env,
                task=task,
                root_step=root_step,
                policy=self.policy,
                evaluator=self.evaluator,
                reflector=self.reflector,
                meter=meter,
                seed=self.seed,
                trace=writer,
                cache=cache,
                step_timeout=self.step_timeout,
                strict=self.strict,
                events=events,
            )
            if not root_step.terminal:
                await self.search(run)
            best = self.best(run)
            for node in best.path():
                run.text_of(node)
            solved = run.solution is not None or best.solved
            stop_reason = "solved" if solved else meter.stop_reason or "exhausted"
            result = SearchResult(
                controller=self.name,
                task=task,
                solved=solved,
                best=best,
                tree=run.tree,
                stats=meter.finish(),
                stop_reason=stop_reason,
                trace_path=self.trace_path,
                warnings=[w for w in (run.mutation.warning,) if w is not None],
                call_free=frozenset(run.call_free),
            )
            if writer is not None:
                if cache is not None:
                    cache.write_unclaimed(writer)
                writer.write({"type": "end", **result.summary(), "visits": _visit_table(run)})
            if events is not None:
                events.emit(Finished(result))
            return result
        finally:
            if writer is not None:
                writer.close()
            if events is not None:
                events.close()

    @abstractmethod
    async def search(self, run: SearchRun) -> None:
        """Grow `run.tree` until done; set `run.solution` when a node solves the task."""

    def best(self, run: SearchRun) -> Node:
        """The node whose path the result reports."""
        return run.solution or run.tree.best_leaf()


def _llm_recorder(
    writer: TraceWriter | None, events: Events | None, meter: Meter
) -> Callable[[dict[str, Any]], None] | None:
    """What the meter does with each charged request: a trace record, an event (None: nothing)."""
    if writer is None and events is None:
        return None

    def record(rec: dict[str, Any]) -> None:
        if writer is not None:
            writer.write({"type": "llm", **rec})
        if events is not None:
            events.emit(
                LLMCalled(
                    rec.get("node"),
                    int(rec["returned"]),
                    int(rec["prompt_tokens"]),
                    int(rec["completion_tokens"]),
                    rec.get("tag"),
                    snapshot(meter.stats),
                )
            )

    return record


def _visit_table(run: SearchRun) -> list[list[Any]]:
    """Per-node statistics at the end of the run, for the viewer: [id, visits, value_sum, value]."""
    return [
        [n.id, n.visits, round(n.value_sum, 6), None if n.value is None else round(n.value, 6)]
        for n in run.tree.nodes
        if n.visits or n.value is not None
    ]
