"""LLM budgets hold: one call is one sampled completion, reserved before a request is sent, by the
policy, the evaluator and the reflector alike, and a resumed search counts the calls made before
its interrupt. Counted from the trace's llm records, on recorded real replies of the embedded model
(re-record with TREEAGENT_RECORD=1 TREEAGENT_BASE_URL=...)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.cassette_clients import CassetteClients
from treeagent.agents.base import HeldCalls, Usage, release_calls, reserve_calls
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm_evaluator import LLMSelfEvaluator
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.reflector import LLMReflector
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.export.build import Conversations
from treeagent.registry import CONTROLLERS
from treeagent.search import Budget, SearchResult, read_records
from treeagent.search.budget import Meter, NodeCharge
from treeagent.search.trace_tree import load_tree

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASSETTES = Path(__file__).parent / "cassettes"
PUZZLE = (4, 9, 10, 13)
KNOBS: dict[str, dict[str, Any]] = {
    "best_first": {"branching": 2},
    "dfsdt": {"width": 2},
    "mcts": {"children_per_expansion": 2, "evaluate": "children"},
    "beam": {"width": 2, "expansions_per_beam": 2},
}


@pytest_asyncio.fixture(loop_scope="session")
async def cassette_llm() -> AsyncIterator[Callable[..., LLMClient]]:
    clients = CassetteClients(CASSETTES, record_prompts=True)
    yield clients.make
    await clients.close()


async def _search(name: str, llm: LLMClient, calls: int, trace: Path, resume: bool = False) -> SearchResult:
    controller = CONTROLLERS[name](
        LLMPolicy(llm),
        LLMSelfEvaluator(llm, votes=2),
        reflector=LLMReflector(llm),
        budget=Budget(max_llm_calls=calls),
        max_depth=3,
        trace=trace,
        resume=resume,
        **KNOBS[name],
    )
    return await controller.run(Game24Env(), game24_task(PUZZLE))


def _llm(trace: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(trace) if r["type"] == "llm"]


def _spent(records: list[dict[str, Any]]) -> int:
    """Completions actually sampled: a record written again by a resumed run is no new call."""
    return sum(r["returned"] for r in records if not r.get("resumed"))


@pytest.mark.parametrize("calls", [1, 2, 5])
@pytest.mark.parametrize("name", list(KNOBS))
async def test_every_controller_stays_within_its_llm_calls(
    name: str, calls: int, cassette_llm: Callable[..., LLMClient], tmp_path: Path
) -> None:
    llm = cassette_llm(f"budget_{name}_{calls}")
    trace = tmp_path / "run.jsonl"
    result = await _search(name, llm, calls, trace)
    records = _llm(trace)
    assert not [n.error for n in result.tree if n.error and "no recorded response" in n.error], "re-record"
    assert 1 <= _spent(records) <= calls
    assert result.stats.llm_calls == _spent(records)  # the summary counts completions, as the trace does
    assert result.stats.llm_requests == len(records) == llm.stats.requests
    assert all(r["returned"] <= r["n"] for r in records)
    if calls == 5:  # the evaluator draws on the same budget as the policy
        assert {"propose", "evaluate"} <= {r["tag"] for r in records}


def _cut_after_llm_record(source: Path, target: Path, keep: int) -> list[dict[str, Any]]:
    """A copy of `source` as a kill would leave it: everything up to its `keep`-th llm record."""
    lines = source.read_text().splitlines(keepends=True)
    seen = 0
    for index, line in enumerate(lines):
        if '"type": "llm"' in line:
            seen += 1
            if seen == keep:
                target.write_text("".join(lines[: index + 1]))
                return _llm(target)
    raise AssertionError(f"{source} has fewer than {keep} llm records")


@pytest.mark.parametrize("calls", [2, 5])
@pytest.mark.parametrize("name", list(KNOBS))
async def test_an_interrupted_search_resumes_within_budget_showing_every_earlier_reply(
    name: str, calls: int, cassette_llm: Callable[..., LLMClient], tmp_path: Path
) -> None:
    llm = cassette_llm(f"resume_{name}_{calls}")
    full = tmp_path / "full.jsonl"
    await _search(name, llm, calls, full)
    killed = tmp_path / "killed.jsonl"
    keep = (len(_llm(full)) + 1) // 2
    before = _cut_after_llm_record(full, killed, keep)  # the last kept call's step is lost

    resumed = await _search(name, llm, calls, killed, resume=True)
    records = _llm(killed)
    # the calls made before the interrupt count: never more than the budget in all, and the
    # summary says so
    assert _spent(records) <= calls
    assert resumed.stats.llm_calls == _spent(records) >= _spent(before)
    # every earlier reply is in the resumed run's trace: on the node it was reused for, or (a reply
    # that came back as the run was killed, its step lost) under no node
    tree = load_tree(killed)
    assert tree.runs == 2
    shown = [(c.node, tuple(c.texts)) for c in tree.calls if c.resumed]
    assert sorted(texts for _, texts in shown) == sorted(tuple(r["texts"]) for r in before)
    reused = [node for node, _ in shown if node is not None]
    assert len(reused) >= keep - 1, "the steps recorded before the cut are reused, their calls shown"
    for node_id in reused:
        assert tree.nodes[node_id].calls, "view shows the call on its node"
    # export takes a replayed expansion's children from the model's own replies
    talk = Conversations(tree)
    for node in tree.nodes.values():
        for child_id in node.children:
            child = tree.nodes[child_id]
            replies = {p.get("text") for p in node.proposals}
            if node.proposals and child.error is None:
                assert talk.step(child) in replies


async def test_meter_reserves_before_and_settles_after() -> None:
    meter = Meter(Budget(max_llm_calls=5))
    sink = NodeCharge(meter, node=3, slot="expand:x")
    assert sink.reserve(4) == 4 and meter.calls_left() == 1
    assert meter.reserve(3) == 1  # only what is left
    assert meter.reserve(1) == 0 and meter.stop_reason is None  # held, not spent: no stop yet
    sink.charge_llm(Usage(prompt_tokens=10, completion_tokens=4, completions=3))
    sink.release(1)  # asked 4, got 3
    assert meter.stats.llm_calls == 3 and meter.stats.llm_requests == 1 and meter.calls_left() == 1
    meter.release(1)  # the other grant was never sent
    assert meter.calls_left() == 2
    assert meter.reserve(5) == 2
    meter.charge_llm(Usage(completions=2))
    assert meter.reserve(1) == 0 and meter.stop_reason == "max_llm_calls"


async def test_a_sink_without_reserve_has_no_ceiling_and_held_calls_give_back_the_rest() -> None:
    class ChargeOnly:
        def __init__(self) -> None:
            self.charged = 0

        def charge_llm(self, usage: Usage, record: dict[str, Any] | None = None) -> None:
            self.charged += usage.completions

    user = ChargeOnly()
    assert reserve_calls(user, 7) == 7 and reserve_calls(None, 2) == 2
    release_calls(user, 3)  # nothing to give back to: no error
    meter = Meter(Budget(max_llm_calls=4))
    held = HeldCalls(meter, reserve_calls(meter, 3))
    assert held.reserve(2) == 2 and held.reserve(2) == 1 and held.reserve(1) == 0
    held.charge_llm(Usage(completions=1))
    held.release(2)  # two of the three were not made
    held.close()
    assert meter.stats.llm_calls == 1 and meter.calls_left() == 3


async def test_an_expansion_that_asks_no_model_runs_after_the_calls_but_not_past_other_limits() -> None:
    meter = Meter(Budget(max_llm_calls=2, max_expansions=4))
    assert meter.try_expand()
    meter.charge_llm(Usage(completions=2))
    assert not meter.try_expand() and meter.stop_reason == "max_llm_calls"
    # a rewrite of earlier output asks the model nothing: the spent calls do not stop it ...
    assert meter.try_expand(calls=False) and meter.stats.expansions == 2
    # ... but its policy still gets no call, and the other limits hold
    assert meter.reserve(1) == 0
    assert meter.try_expand(calls=False) and meter.try_expand(calls=False)
    assert not meter.try_expand(calls=False) and meter.stats.expansions == 4
    stepped = Meter(Budget(max_env_steps=1))
    assert stepped.try_env_step() and not stepped.try_expand(calls=False) and not stepped.try_expand()
