"""`treeagent export`: SFT records from solved trajectories, preference pairs from unequal siblings."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.traces.conftest import copied, edited_copy, line_count, torn_copy
from treeagent.cli.main import app
from treeagent.export import PreferencePair, SFTRecord, preference_pairs, sft_records
from treeagent.search.trace_tree import TraceTree, load_tree

pytestmark = pytest.mark.asyncio(loop_scope="session")
runner = CliRunner()


def _read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _export(trace: Path, out: Path, *args: str) -> list[str]:
    result = runner.invoke(app, ["export", str(trace), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return _read_lines(out)


def _check_pair(tree: TraceTree, pair: PreferencePair) -> None:
    chosen, rejected = tree.nodes[pair.chosen_id], tree.nodes[pair.rejected_id]
    assert chosen.parent == rejected.parent == pair.parent_id, "pairs are siblings"
    assert chosen.score() == pytest.approx(pair.chosen_value, abs=1e-6)
    assert rejected.score() == pytest.approx(pair.rejected_value, abs=1e-6)
    assert pair.chosen_value > pair.rejected_value and pair.margin > 0
    assert pair.chosen[0].role == pair.rejected[0].role == "assistant"
    assert pair.chosen[0].content != pair.rejected[0].content
    # the prompt is the conversation up to the shared parent: one assistant turn per step
    assert sum(m.role == "assistant" for m in pair.prompt) == tree.nodes[pair.parent_id].depth == pair.depth
    assert pair.prompt[-1].role == "user"


async def test_sft_records_come_only_from_solved_trajectories(best_first_trace: Path, tmp_path: Path) -> None:
    tree = load_tree(best_first_trace)
    solved = {n.id for n in tree.nodes.values() if n.solved}
    assert solved, "the fixture's search solved its puzzle"
    lines = _export(best_first_trace, tmp_path / "sft.jsonl", "--format", "sft")
    records = [SFTRecord.model_validate_json(line) for line in lines]
    assert {r.node_ids[-1] for r in records} == solved
    for record in records:
        path = [tree.nodes[i] for i in record.node_ids]
        assert path[0].id == 0 and all(b.parent == a.id for a, b in itertools.pairwise(path))
        assert record.reward == 1.0 and path[-1].terminal
        roles = [m.role for m in record.messages]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert roles.count("assistant") == len(path) - 1
        # the task text leads; each step's action and the observation it produced follow
        assert tree.run.task["prompt"] in record.messages[0].content
        assert [m.content for m in record.messages[1::2]] == [n.text for n in path[1:]]
        assert [m.content for m in record.messages[2::2]] == [n.observation for n in path[1:-1]]


async def test_dead_ends_give_no_sft_records(mcts_trace: Path) -> None:
    tree = load_tree(mcts_trace)
    solved = {n.id for n in tree.nodes.values() if n.solved}
    dead_ends = {n.id for n in tree.nodes.values() if n.terminal and not n.solved}
    assert solved and dead_ends, "the MCTS run found a solution and reached dead ends"
    assert {r.node_ids[-1] for r in sft_records(tree)} == solved


@pytest.mark.parametrize("fixture", ["best_first_trace", "mcts_trace"])
async def test_preference_pairs_are_siblings_with_the_higher_value_chosen(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    trace: Path = request.getfixturevalue(fixture)
    tree = load_tree(trace)
    lines = _export(trace, tmp_path / "pairs.jsonl", "--format", "preference")
    pairs = [PreferencePair.model_validate_json(line) for line in lines]
    assert pairs
    for pair in pairs:
        _check_pair(tree, pair)
    # "best": one chosen step per state, the best of its siblings
    by_parent: dict[int, set[int]] = {}
    for pair in pairs:
        by_parent.setdefault(pair.parent_id, set()).add(pair.chosen_id)
    for parent, chosen in by_parent.items():
        assert len(chosen) == 1
        scores = [tree.nodes[c].score() for c in tree.nodes[parent].children]
        assert tree.nodes[next(iter(chosen))].score() == max(s for s in scores if s is not None)
    # every sibling worse than the best of a state is paired with it, and no equal-valued one is
    for parent in by_parent:
        kids = [tree.nodes[c] for c in tree.nodes[parent].children if tree.nodes[c].score() is not None]
        top = max(k.score() for k in kids)  # type: ignore[type-var]
        worse = {k.id for k in kids if k.score() < top}  # type: ignore[operator]
        assert {p.rejected_id for p in pairs if p.parent_id == parent} == worse
    if fixture == "mcts_trace":
        assert {p.value_source for p in pairs} <= {"visits", "mixed"}


async def test_all_pairs_and_margin(mcts_trace: Path) -> None:
    tree = load_tree(mcts_trace)
    best = list(preference_pairs(tree))
    every = list(preference_pairs(tree, pairing="all"))
    assert len(every) > len(best)
    for pair in every:
        _check_pair(tree, pair)
    wide = list(preference_pairs(tree, pairing="all", min_margin=0.3))
    assert wide and all(p.margin > 0.3 for p in wide)
    assert {p.id for p in wide} == {p.id for p in every if p.margin > 0.3}
    visited = list(preference_pairs(tree, pairing="all", min_visits=5))
    for pair in visited:
        for node in (tree.nodes[pair.chosen_id], tree.nodes[pair.rejected_id]):
            assert node.visits >= 5 or node.status == "failed"


async def test_values_equal_as_written_make_no_pair(mcts_trace: Path) -> None:
    """Two means that differ only in float noise (0.55 vs 0.55 + 1e-12) are not a preference."""
    tree = load_tree(mcts_trace)
    pair = next(iter(preference_pairs(tree, pairing="all")))
    chosen, rejected = tree.nodes[pair.chosen_id], tree.nodes[pair.rejected_id]
    for node, mean in ((chosen, 0.55 + 1e-12), (rejected, 0.55)):
        node.status, node.visits, node.value_sum = "expanded", 4, 4 * mean
    left = list(preference_pairs(tree, pairing="all"))
    assert all({p.chosen_id, p.rejected_id} != {chosen.id, rejected.id} for p in left)


async def test_llm_pairs_use_the_models_own_replies(llm_trace: Path) -> None:
    tree = load_tree(llm_trace)
    replies = {text for call in tree.calls if call.tag == "propose" for text in call.texts}
    pairs = list(preference_pairs(tree, pairing="all"))
    assert pairs
    for pair in pairs:
        _check_pair(tree, pair)
        assert pair.chosen[0].content in replies and pair.rejected[0].content in replies
    actions = list(preference_pairs(tree, pairing="all", step_text="action"))
    assert [p.chosen[0].content for p in actions] == [tree.nodes[p.chosen_id].text for p in actions]


async def test_export_writes_stdout_by_default(best_first_trace: Path) -> None:
    result = runner.invoke(app, ["export", str(best_first_trace), "--format", "sft"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert first["format"] == "sft" and first["source"]["controller"] == "best_first"


async def test_export_of_a_torn_unfinished_trace(best_first_trace: Path, tmp_path: Path) -> None:
    partial = torn_copy(best_first_trace, tmp_path / "partial.jsonl", line_count(best_first_trace) - 3, 40)
    out = tmp_path / "p.jsonl"
    result = runner.invoke(app, ["export", str(partial), "-f", "preference", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "unfinished" in result.output
    tree = load_tree(partial)
    pairs = [PreferencePair.model_validate_json(line) for line in _read_lines(out)]
    assert pairs
    for pair in pairs:
        _check_pair(tree, pair)


@pytest.mark.parametrize("command", ["export", "view"])
async def test_bad_input_gets_a_clear_error(command: str, best_first_trace: Path, tmp_path: Path) -> None:
    def fails(args: list[str], *expected: str) -> None:
        result = runner.invoke(app, [command, *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        flat = " ".join(result.output.split())
        for part in expected:
            assert part in flat, flat

    fails([str(tmp_path / "nope.jsonl")], "error:", "no trace file at", "nope.jsonl")
    garbage = edited_copy(best_first_trace, tmp_path / "garbage.jsonl", 5, "this is not json", insert=True)
    fails([str(garbage)], "garbage.jsonl:5:", "not a JSON line")
    orphan_node = '{"type": "node", "id": 5000, "parent": 4000}'
    orphan = edited_copy(best_first_trace, tmp_path / "orphan.jsonl", 5, orphan_node, insert=True)
    fails([str(orphan)], "orphan.jsonl:5:", "names node 4000")
    other = edited_copy(best_first_trace, tmp_path / "notes.txt", 1, '{"hello": "world"}')
    fails([str(other)], "notes.txt:1:", "not a treeagent trace record")
    if command == "view":
        fails([str(garbage), "-o", str(garbage)], "would overwrite the trace")
    if command == "export":
        fails([str(garbage), "-o", str(garbage)], "is one of the traces being exported")
        fails([str(best_first_trace), "--format", "xml"], "unknown format 'xml'", "sft, preference")
        fails([str(best_first_trace), "--text", "tokens"], "unknown --text 'tokens'")
        fails([str(best_first_trace), "-f", "preference", "--pairs", "some"], "unknown --pairs 'some'")


async def test_export_of_several_traces_and_a_folder_of_them(
    best_first_trace: Path, mcts_trace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "traces"
    copied(best_first_trace, folder / "a.jsonl")
    copied(mcts_trace, folder / "b.jsonl")
    expected = {
        "a.jsonl": len(list(sft_records(load_tree(best_first_trace)))),
        "b.jsonl": len(list(sft_records(load_tree(mcts_trace)))),
    }
    from_folder = [SFTRecord.model_validate_json(line) for line in _export(folder, tmp_path / "f.jsonl")]
    counts = {name: sum(Path(r.source.trace).name == name for r in from_folder) for name in expected}
    assert counts == expected and all(expected.values())
    result = runner.invoke(app, ["export", str(folder / "a.jsonl"), str(folder / "b.jsonl"), "-o", str(tmp_path / "g")])
    assert result.exit_code == 0, result.output
    assert _read_lines(tmp_path / "g") == _read_lines(tmp_path / "f.jsonl")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = runner.invoke(app, ["export", str(empty)])
    assert refused.exit_code == 2 and "no *.jsonl trace files" in " ".join(refused.output.split())
