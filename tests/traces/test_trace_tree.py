"""Reading traces back as trees (search/trace_tree.py): attribution, tolerance, and clear errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.traces.conftest import edited_copy, line_count, torn_copy, write_file
from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.heuristics import EnvReward, UniformPolicy
from treeagent.agents.llm.client import capped_messages
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.search import BestFirst, TraceError, TraceWriter, read_records
from treeagent.search.trace_tree import load_tree

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_llm_calls_are_recorded_per_node_with_prompts_and_replies(llm_trace: Path) -> None:
    tree = load_tree(llm_trace)
    records = [r for r in read_records(llm_trace) if r["type"] == "llm"]
    assert tree.calls and len(tree.calls) == len(records)
    for record in records:
        assert record["node"] in tree.nodes, "every call names the node it was made for"
        assert record["messages"] and record["texts"]
    # a propose call belongs to the node it expanded; its replies became that node's children
    proposing = [i for i, c in enumerate(tree.calls) if c.tag == "propose"]
    assert proposing
    for index in proposing:
        node = tree.nodes[tree.calls[index].node]  # type: ignore[index]
        assert index in node.calls and node.children
    evaluating = [c for c in tree.calls if c.tag == "evaluate"]
    assert evaluating and all(c.node != 0 for c in evaluating)


async def test_records_carry_a_clock_and_the_usage_series_is_cumulative(best_first_trace: Path) -> None:
    times = [r["t"] for r in read_records(best_first_trace)]
    assert times == sorted(times) and times[0] >= 0
    tree = load_tree(best_first_trace)
    assert tree.finished and tree.end is not None
    last = tree.usage[-1]
    assert last.expansions == tree.end.stats["expansions"]
    assert last.nodes == len(tree.nodes)
    for before, after in zip(tree.usage, tree.usage[1:], strict=False):
        assert after.expansions >= before.expansions and after.nodes >= before.nodes


async def test_a_trace_still_being_written_loads(best_first_trace: Path, tmp_path: Path) -> None:
    partial = torn_copy(best_first_trace, tmp_path / "partial.jsonl", line_count(best_first_trace) // 2, 30)
    tree = load_tree(partial)
    assert tree.torn_tail and not tree.finished
    expected = {r["id"] for r in read_records(partial) if r["type"] == "node"}
    assert set(tree.nodes) == expected and len(expected) > 1
    # the best path of an unfinished run is still a path from the root
    path = tree.best_path()
    assert path[0] == 0 and all(tree.nodes[b].parent == a for a, b in itertools.pairwise(path))


async def test_a_writer_resuming_after_a_torn_line_starts_a_clean_line(best_first_trace: Path, tmp_path: Path) -> None:
    trace = torn_copy(best_first_trace, tmp_path / "killed.jsonl", 5, 20)
    writer = TraceWriter(trace)
    writer.write({"type": "run", "controller": "best_first", "task": {"id": "again"}})
    writer.close()
    records = list(read_records(trace))
    assert len(records) == 6 and records[-1]["task"] == {"id": "again"}


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        (3, "{not json", r":3: not a JSON line"),
        (3, "[1, 2]", r":3: not a treeagent trace record"),
        (3, '{"type": "node", "parent": 0}', r":3: bad node record: id: field required"),
        (3, '{"type": "node", "id": 7777, "parent": 9999}', r":3: node record names node 9999, which no earlier"),
        (
            3,
            '{"type": "value", "node": 0, "value": "high"}',
            r":3: bad value record: value: input should be a valid number",
        ),
        (
            3,
            '{"type": "node", "id": 8888, "parent": null}',
            r":3: node 8888 has no parent, but the run already has a root",
        ),
        (1, '{"type": "run", "task": {"id": "x"}}', r":1: bad run record: controller: field required"),
    ],
)
async def test_malformed_records_are_named_by_line(
    best_first_trace: Path, tmp_path: Path, line: int, replacement: str, message: str
) -> None:
    path = edited_copy(best_first_trace, tmp_path / "broken.jsonl", line, replacement)
    with pytest.raises(TraceError, match=message):
        load_tree(path)


async def test_empty_missing_and_rootless_traces(tmp_path: Path) -> None:
    empty = write_file(tmp_path / "empty.jsonl", "")
    with pytest.raises(TraceError, match="holds no run record"):
        load_tree(empty)
    with pytest.raises(TraceError, match="no trace file at"):
        load_tree(tmp_path / "missing.jsonl")
    with pytest.raises(TraceError, match="is a directory"):
        load_tree(tmp_path)
    run = {"type": "run", "controller": "mcts", "task": {"id": "t"}}
    started = write_file(tmp_path / "started.jsonl", json.dumps(run) + "\n")
    with pytest.raises(TraceError, match="no root node yet"):
        load_tree(started)


async def test_long_prompts_keep_their_head_and_tail_in_the_trace() -> None:
    long = "A" * 9_000 + "MIDDLE" + "Z" * 9_000
    short = {"role": "system", "content": "be brief"}
    kept = capped_messages([short, {"role": "user", "content": long}], limit=1_000)
    assert kept[0] == short
    text = kept[1]["content"]
    assert text.startswith("A" * 500) and text.endswith("Z" * 500) and "MIDDLE" not in text
    assert f"[... {len(long) - 1_000} characters cut ...]" in text and len(text) < 1_100


class _FailsOnce:
    """Every legal action, except that call number `failing` raises."""

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.calls = 0
        self.inner = UniformPolicy()

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        self.calls += 1
        if self.calls == self.failing:
            raise RuntimeError("the policy broke")
        return await self.inner.propose(view, k)


async def test_an_expansion_whose_policy_raised_counts_in_the_chart_as_in_the_stats(tmp_path: Path) -> None:
    trace = tmp_path / "flaky.jsonl"
    search = BestFirst(_FailsOnce(2), EnvReward(), branching=64, max_depth=3, trace=trace)
    result = await search.run(Game24Env(), game24_task((4, 9, 10, 13)))
    tree = load_tree(trace)
    assert any((n.error or "").startswith("policy failed: RuntimeError: the policy broke") for n in tree.nodes.values())
    assert tree.end is not None and tree.usage[-1].expansions == tree.end.stats["expansions"]
    assert tree.end.stats["expansions"] == result.stats.expansions


async def test_a_resumed_run_asks_the_policy_again_where_it_raised(tmp_path: Path) -> None:
    trace = tmp_path / "root.jsonl"
    task = game24_task((4, 9, 10, 13))
    broken = await BestFirst(_FailsOnce(1), EnvReward(), branching=64, max_depth=3, trace=trace).run(Game24Env(), task)
    assert broken.tree.root.failed and broken.stats.expansions == 1
    policy = _FailsOnce(0)
    resumed = await BestFirst(policy, EnvReward(), branching=64, max_depth=3, trace=trace, resume=True).run(
        Game24Env(), task
    )
    assert resumed.solved and resumed.stats.replayed_expansions == 0 and policy.calls == resumed.stats.expansions
