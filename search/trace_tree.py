"""A trace read back as a tree: the last run's nodes with their values, visits and LLM calls.

The viewer and the training-data export read traces through this one loader. Each record of the
last run is checked against a small pydantic model of its type, so a malformed trace fails with
the file, the line and the problem (`TraceError`). A trace still being written loads too: a torn
last line is skipped (`TraceTree.torn_tail`) and a run with no `end` record is `unfinished`.
Record types this loader does not know are skipped, so newer writers stay readable.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from treeagent.search.trace import TraceError, numbered_records
from treeagent.search.trace_records import (
    RECORD_MODELS,
    EndRecord,
    ExpandRecord,
    LessonRecord,
    LLMRecord,
    NodeRecord,
    RunRecord,
    ValueRecord,
)


@dataclass(slots=True)
class TraceNode:
    """One node as the trace tells it (later records of the same node update it)."""

    id: int
    parent: int | None
    depth: int
    line: int
    action: Any = None
    text: str = ""
    mover: int | None = None
    prior: float | None = None
    status: str = "open"
    error: str | None = None
    give_up: bool = False
    reward: float | None = None
    terminal: bool | None = None
    returns: list[float] | None = None
    observation: str | None = None
    #: the evaluator's value (or the exact value of a terminal), from the mover's side
    value: float | None = None
    visits: int = 0
    value_sum: float = 0.0
    children: list[int] = field(default_factory=list)
    #: indices into `TraceTree.calls` of the LLM calls made for this node
    calls: list[int] = field(default_factory=list)
    #: what the policy proposed at this node, expansion after expansion
    proposals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def q(self) -> float | None:
        """The mean backed-up value (MCTS), None when never visited."""
        return self.value_sum / self.visits if self.visits else None

    @property
    def solved(self) -> bool:
        """A terminal single-agent node with full reward (as `Step.solved`)."""
        return bool(self.terminal) and self.returns is None and (self.reward or 0.0) >= 1.0

    def score(self) -> float | None:
        """The value the search ranks this node by: Q when visited, else its value; failed = 0."""
        if self.status == "failed":
            return 0.0
        if self.visits:
            return self.value_sum / self.visits
        return self.value

    def terminal_value(self) -> float | None:
        if not self.terminal:
            return None
        if self.returns is not None and self.mover is not None and 0 <= self.mover < len(self.returns):
            return min(1.0, max(0.0, (self.returns[self.mover] + 1.0) / 2.0))
        return None if self.reward is None else min(1.0, max(0.0, self.reward))


@dataclass(slots=True)
class UsagePoint:
    """Cumulative spending after one record: the budget-over-time series."""

    t: float | None
    expansions: int
    nodes: int
    evaluations: int
    llm_calls: int
    tokens: int


@dataclass
class TraceTree:
    path: Path
    run: RunRecord
    nodes: dict[int, TraceNode]
    calls: list[LLMRecord]
    end: EndRecord | None
    usage: list[UsagePoint]
    lessons: list[LessonRecord]
    #: the file's last line was incomplete (still being written, or the writer was killed) and skipped
    torn_tail: bool
    #: how many runs the file holds (a resumed search appends one); this tree is the last
    runs: int

    @property
    def outcome_words(self) -> tuple[str, str]:
        """How to say the run's end: a coding task's search ends on its public tests only (the
        hidden ones are graded later, outside the search), so it never claims "solved"."""
        data = self.run.task.get("data")
        if isinstance(data, dict) and "public_tests" in data:
            return "passed public tests", "did not pass public tests"
        return "solved", "not solved"

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def root(self) -> TraceNode:
        return self.nodes[0]

    def path_to(self, node_id: int) -> list[TraceNode]:
        """The nodes from the root to `node_id`."""
        out: list[TraceNode] = []
        current: int | None = node_id
        while current is not None:
            node = self.nodes[current]
            out.append(node)
            current = node.parent
        out.reverse()
        return out

    def best_path(self) -> list[int]:
        """The end record's best path; for an unfinished run, the solved or highest-scoring node's path."""
        if self.end is not None and self.end.best_path and all(i in self.nodes for i in self.end.best_path):
            return list(self.end.best_path)
        best, best_key = self.root, (-1.0, -1.0, -1)
        for node in self.nodes.values():
            if node.status == "failed":
                continue
            if node.solved:
                best = node
                break
            score = node.score()
            key = (score if score is not None else 0.0, float(bool(node.terminal)), node.depth)
            if key > best_key:
                best, best_key = node, key
        return [n.id for n in self.path_to(best.id)]


def _problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(x) for x in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg'].lower()}")
    return "; ".join(parts)


def _torn_tail(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return False
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) != b"\n"
    except OSError:
        return False


def load_tree(path: str | os.PathLike[str]) -> TraceTree:
    """The last run of the trace at `path` as a tree; `TraceError` naming the line when it is malformed."""
    with paused_gc():
        return _load(Path(path))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: a big trace makes hundreds of thousands of objects that
    all stay alive, which the collector would rescan again and again (2x the load time at 30,000
    nodes) without freeing any."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _load(p: Path) -> TraceTree:
    lines: list[tuple[int, dict[str, Any]]] = []
    runs = 0
    for number, record in numbered_records(p):
        if record["type"] == "run":
            runs += 1
            lines = []
        if runs:
            lines.append((number, record))
    if not lines:
        raise TraceError(f"{p} holds no run record; it is empty or not a treeagent trace")
    builder = _Builder(p)
    for number, record in lines:
        builder.add(number, record)
    return builder.finish(_torn_tail(p), runs)


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.run: RunRecord | None = None
        self.nodes: dict[int, TraceNode] = {}
        self.calls: list[LLMRecord] = []
        self.end: EndRecord | None = None
        self.lessons: list[LessonRecord] = []
        self.usage: list[UsagePoint] = []
        self._counts = [0, 0, 0, 0, 0]  # expansions, nodes, evaluations, llm calls, tokens

    def _fail(self, number: int, message: str) -> TraceError:
        return TraceError(f"{self.path}:{number}: {message}")

    def _known(self, number: int, kind: str, node_id: int) -> TraceNode:
        node = self.nodes.get(node_id)
        if node is None:
            raise self._fail(number, f"{kind} record names node {node_id}, which no earlier node record defines")
        return node

    def add(self, number: int, raw: dict[str, Any]) -> None:
        kind = raw["type"]
        model = RECORD_MODELS.get(kind)
        if model is None:
            return
        try:
            record = model.model_validate(raw)
        except ValidationError as exc:
            raise self._fail(number, f"bad {kind} record: {_problem(exc)}") from None
        counts = self._counts
        if isinstance(record, RunRecord):
            self.run = record
        elif isinstance(record, NodeRecord):
            self._add_node(number, record)
        elif isinstance(record, ExpandRecord):
            self._known(number, kind, record.node).proposals.extend(record.proposals)
            counts[0] += 1
        elif isinstance(record, ValueRecord):
            self._known(number, kind, record.node).value = record.value
            counts[2] += 1
        elif isinstance(record, LLMRecord):
            if record.node is not None and record.node in self.nodes:
                self.nodes[record.node].calls.append(len(self.calls))
            self.calls.append(record)
            counts[3] += record.calls
            counts[4] += record.prompt_tokens + record.completion_tokens
        elif isinstance(record, LessonRecord):
            self.lessons.append(record)
        elif isinstance(record, EndRecord):
            self.end = record
            for node_id, visits, value_sum, value in record.visits:
                node = self.nodes.get(node_id)
                if node is not None:
                    node.visits, node.value_sum = visits, value_sum
                    if value is not None:
                        node.value = value
        self.usage.append(UsagePoint(record.t, *counts))

    def _add_node(self, number: int, rec: NodeRecord) -> None:
        node = self.nodes.get(rec.id)
        if node is None:
            if rec.parent is None:
                if self.nodes:
                    raise self._fail(number, f"node {rec.id} has no parent, but the run already has a root")
            else:
                parent = self._known(number, "node", rec.parent)
                parent.children.append(rec.id)
            node = TraceNode(rec.id, rec.parent, rec.depth, number)
            self.nodes[rec.id] = node
            self._counts[1] += 1
        elif node.parent != rec.parent:
            raise self._fail(number, f"node {rec.id} is recorded again with parent {rec.parent}, not {node.parent}")
        node.action = rec.action
        node.text = rec.text or ""
        node.mover = rec.mover
        node.prior = rec.prior
        node.status = rec.status
        node.error = rec.error
        node.give_up = rec.give_up
        node.reward = rec.reward
        node.terminal = rec.terminal
        node.returns = rec.returns
        node.observation = rec.observation
        if rec.status == "failed":
            node.value = 0.0
        elif node.value is None:
            node.value = node.terminal_value()

    def finish(self, torn_tail: bool, runs: int) -> TraceTree:
        assert self.run is not None
        if 0 not in self.nodes:
            raise TraceError(
                f"{self.path} has a run record but no root node yet: the run was killed before it began, "
                "or it is starting now (try again in a moment)"
            )
        return TraceTree(
            path=self.path,
            run=self.run,
            nodes=self.nodes,
            calls=self.calls,
            end=self.end,
            usage=self.usage,
            lessons=self.lessons,
            torn_tail=torn_tail,
            runs=runs,
        )
