"""A run tells a listener what happens, at the points that write the trace, in order; a listener
that raises does not stop the search. No model: a uniform policy, and a scripted one that charges
made-up model usage to the budget as an LLM policy would."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.base import NodeView, Proposal, Usage
from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import MCTS, BestFirst, Budget, Controller, SearchResult, read_records
from treeagent.search.events import Expanded, Finished, LLMCalled, NodeRecorded, RunStarted, SearchEvent

PUZZLE = (4, 9, 10, 13)


class ChargingPolicy(UniformPolicy):
    """Uniform over legal moves, and charges each request as `k` completions of a model would."""

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        granted = view.usage.reserve(2)
        if granted == 0:
            return []
        view.usage.charge_llm(Usage(prompt_tokens=50, completion_tokens=7, completions=granted), {"tag": "propose"})
        return await super().propose(view, granted)


async def _run(controller: Controller, listener: Any = None) -> SearchResult:
    return await controller.run(Game24Env(), game24_task(PUZZLE), listener=listener)


def _shape(result: SearchResult) -> list[tuple[int, int | None, str, int]]:
    return [(n.id, n.parent.id if n.parent else None, n.status.name, n.visits) for n in result.tree]


async def test_a_run_reports_its_nodes_expansions_and_end_in_order(tmp_path: Path) -> None:
    events: list[SearchEvent] = []
    trace = tmp_path / "run.jsonl"
    controller = BestFirst(
        UniformPolicy(), RandomRollout(seed=2), branching=3, budget={"max_expansions": 12}, trace=trace
    )
    result = await _run(controller, events.append)

    assert isinstance(events[0], RunStarted) and events[0].controller == "best_first"
    assert events[0].task_id == result.task.id and events[0].spent.llm_calls == 0
    assert isinstance(events[-1], Finished) and events[-1].result is result
    assert sum(isinstance(e, (RunStarted, Finished)) for e in events) == 2

    expansions = [e for e in events if isinstance(e, Expanded)]
    assert [e.stats.expansions for e in expansions] == list(range(1, result.stats.expansions + 1))
    assert sum(e.children for e in expansions) == len(result.tree) - 1

    # every node is reported, once per trace record of it, and before anything is done with it
    recorded = [e.node.id for e in events if isinstance(e, NodeRecorded)]
    node_records = [r["id"] for r in read_records(trace) if r["type"] == "node"]
    assert recorded == node_records
    assert set(recorded) == {n.id for n in result.tree} and recorded[0] == 0  # the root first
    order = [e for e in events if isinstance(e, (NodeRecorded, Expanded))]
    for i, event in enumerate(order):
        if isinstance(event, Expanded):
            seen_before = {e.node.id for e in order[:i] if isinstance(e, NodeRecorded)}
            assert event.node.id in seen_before
            assert all(c.id in seen_before for c in event.node.children[: event.children])


async def test_lazy_mcts_reports_each_node_when_it_is_stepped(tmp_path: Path) -> None:
    events: list[SearchEvent] = []
    trace = tmp_path / "mcts.jsonl"
    controller = MCTS(UniformPolicy(), RandomRollout(seed=1), simulations=60, seed=3, trace=trace)
    result = await _run(controller, events.append)
    recorded = [e.node.id for e in events if isinstance(e, NodeRecorded)]
    assert recorded == [r["id"] for r in read_records(trace) if r["type"] == "node"]
    stepped = {n.id for n in result.tree if n.step is not None or n.failed}
    assert set(recorded) == stepped and len(stepped) < len(result.tree)  # unselected children: not yet
    assert sum(isinstance(e, Expanded) for e in events) == result.stats.expansions


async def test_model_requests_are_reported_with_the_running_totals(tmp_path: Path) -> None:
    events: list[SearchEvent] = []
    trace = tmp_path / "llm.jsonl"
    controller = BestFirst(ChargingPolicy(), branching=2, budget=Budget(max_llm_calls=9), trace=trace)
    result = await _run(controller, events.append)
    calls = [e for e in events if isinstance(e, LLMCalled)]
    assert len(calls) == result.stats.llm_requests == len([r for r in read_records(trace) if r["type"] == "llm"])
    assert sum(e.calls for e in calls) == result.stats.llm_calls == 9
    running = 0
    for event in calls:
        running += event.calls
        assert event.stats.llm_calls == running and event.tag == "propose" and event.prompt_tokens == 50
    assert {e.node for e in calls} <= {n.id for n in result.tree}
    # each call is reported before the expansion it served
    kinds = [type(e).__name__ for e in events if isinstance(e, (LLMCalled, Expanded))]
    assert kinds[:2] == ["LLMCalled", "Expanded"]


async def test_a_listener_that_raises_does_not_stop_the_search(caplog: pytest.LogCaptureFixture) -> None:
    def make() -> MCTS:
        return MCTS(UniformPolicy(), RandomRollout(seed=1), simulations=80, seed=5)

    quiet = await _run(make())
    received: Counter[str] = Counter()

    def broken(event: SearchEvent) -> None:
        received[type(event).__name__] += 1
        raise RuntimeError("the progress bar fell over")

    with caplog.at_level(logging.WARNING, logger="treeagent.search"):
        noisy = await _run(make(), broken)
    assert _shape(noisy) == _shape(quiet) and noisy.stats.simulations == quiet.stats.simulations
    assert received["Finished"] == 1, "the listener keeps getting events after it raised"
    warnings = [r for r in caplog.records if r.name == "treeagent.search"]
    assert len(warnings) == 2
    assert warnings[0].exc_info is not None and "the progress bar fell over" in str(warnings[0].exc_info[1])
    assert "RunStarted" in warnings[0].getMessage()
    assert f"raised {sum(received.values())} times" in warnings[1].getMessage()
