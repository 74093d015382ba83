"""Traces: every node, expansion, evaluation and LLM call of a search, appended as JSON lines.

Each record is written and flushed as it happens, so a run that is killed loses nothing that
finished. A trace can be read back to resume a search (`ResumeCache`) or to show it (`show`).
A file may hold several runs (a resumed run appends a new `run` record); readers use the last.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from treeagent.agents.base import Proposal
from treeagent.search.budget import Stats
from treeagent.search.node import Node

TRACE_VERSION = 1
OBSERVATION_CHARS = 4000


class TraceError(Exception):
    """The trace file is missing, unreadable or belongs to another search."""


class TraceWriter:
    """Appends records to a JSONL file, one flushed line each.

    Writes are small and go to the OS page cache (no fsync), so they survive the process being
    killed and cost microseconds: cheap enough to do inline in the event loop.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_trace_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(self.path)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        self._started = time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record, stamped with `t`: seconds since this writer opened (the viewer's clock)."""
        if self._file is None:
            return
        stamped = {**record, "t": round(time.monotonic() - self._started, 4)}
        self._file.write(json.dumps(stamped, default=_json_default, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def check_trace_path(path: str | os.PathLike[str]) -> Path:
    """`path` if a trace may be written there: a new file, an empty one, or a trace (a resumed or
    repeated search appends a run). A directory, or a file that holds something else (a problem
    set, results, any other JSONL), raises `TraceError`: appending would damage it."""
    p = Path(path)
    if p.is_dir():
        raise TraceError(f"trace path {p} is a directory; give a file in it, e.g. {p / 'run.trace.jsonl'}")
    if not p.exists():
        return p
    try:
        with p.open(encoding="utf-8", errors="replace") as fh:
            first = next((line for line in fh if line.strip()), "")
    except OSError as exc:
        raise TraceError(f"cannot use {p} as a trace: {exc}") from None
    if not first:
        return p
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or record.get("type") != "run":
        raise TraceError(
            f"{p} exists and is not a treeagent trace (its first line is not a run record); "
            "writing the trace there would append to it: choose another trace path"
        )
    return p


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a writer killed mid-write) so that appended records start on a line of their own."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # scan back in blocks for the last newline; everything after it is the torn record
        end = size
        while end > 0:
            start = max(0, end - 65536)
            fh.seek(start)
            cut = fh.read(end - start).rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return
            end = start
        fh.truncate(0)


def read_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a trace file; a torn last line (the process was killed mid-write) is skipped."""
    for _, record in numbered_records(path):
        yield record


def numbered_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each record of a trace file, for readers that name lines in errors.

    A last line with no newline that does not parse is a record still being written (or torn by a
    kill): it is skipped, so a trace can be read while its search runs.
    """
    p = Path(path)
    if not p.exists():
        raise TraceError(f"no trace file at {p}; pass the path a search wrote with trace=...")
    if p.is_dir():
        raise TraceError(f"{p} is a directory, not a trace file")
    with p.open(encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                if not raw.endswith("\n") or fh.readline() == "":
                    return  # torn final line
                raise TraceError(f"{p}:{number}: not a JSON line ({exc.msg}); is this a treeagent trace?") from None
            if not isinstance(record, dict) or "type" not in record:
                raise TraceError(f"{p}:{number}: not a treeagent trace record (a JSON object with a 'type')")
            yield number, record


def last_run(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of the last run in a trace file (from its last `run` record on)."""
    runs: list[list[dict[str, Any]]] = []
    for record in read_records(path):
        if record["type"] == "run":
            runs.append([])
        if runs:
            runs[-1].append(record)
    if not runs:
        raise TraceError(f"{path} holds no run record; it is empty or not a treeagent trace")
    return runs[-1]


@dataclass
class ResumeCache:
    """What earlier runs of the same search already computed, keyed by node path.

    A resumed search runs again from the root with the same seed; where it reaches a node whose
    expansion or value is recorded, it takes the recorded answer instead of calling the policy
    or the evaluator again. Environment steps are replayed to rebuild the states.

    `spent` is what the earlier runs' model calls cost: they count toward the resumed run's budget
    (a resumed search never spends more than its budget in all). `calls` holds their records by
    the step they served (`slot`), to be written again when the resumed run reuses that step.
    """

    proposals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    lessons: dict[str, str] = field(default_factory=dict)
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    spent: Stats = field(default_factory=Stats)

    def __len__(self) -> int:
        return len(self.proposals)

    @classmethod
    def load(cls, path: str | os.PathLike[str], controller: str, task_id: str) -> ResumeCache:
        cache = cls()
        if not Path(path).exists():
            return cache
        for record in read_records(path):
            kind = record["type"]
            if kind == "run":
                if record.get("controller") != controller or record.get("task", {}).get("id") != task_id:
                    raise TraceError(
                        f"{path} was written by a {record.get('controller')} search on task "
                        f"{record.get('task', {}).get('id')!r}, not {controller} on {task_id!r}; "
                        "resume with the same controller and task, or write to a new trace file"
                    )
            elif kind == "expand" and record.get("error") is None:  # a failed one is asked again
                cache.proposals[record["key"]] = record["proposals"]
            elif kind == "value":
                cache.values[record["key"]] = record["value"]
            elif kind == "lesson":
                cache.lessons[record["key"]] = record["text"]
            elif kind == "llm" and not record.get("resumed"):
                cache._add_call(record)
        return cache

    def _add_call(self, record: dict[str, Any]) -> None:
        s = self.spent
        returned = record.get("returned")
        s.llm_calls += int(returned if returned is not None else len(record.get("texts") or ()) or 1)
        s.llm_requests += 1
        s.prompt_tokens += int(record.get("prompt_tokens") or 0)
        s.completion_tokens += int(record.get("completion_tokens") or 0)
        s.cached_tokens += int(record.get("cached_tokens") or 0)
        s.llm_seconds += float(record.get("latency_s") or 0.0)
        self.calls.setdefault(str(record.get("slot") or ""), []).append(
            {k: v for k, v in record.items() if k not in ("t", "slot")}
        )

    def write_calls(self, writer: TraceWriter | None, slot: str, node: int | None) -> None:
        """Write the recorded calls of step `slot` again (marked `resumed`) for `node` of the resumed
        run, once: the resumed trace then shows every reply it reuses."""
        for call in self.calls.pop(slot, ()):
            if writer is not None:
                writer.write({**call, "node": node, "resumed": True})

    def write_unclaimed(self, writer: TraceWriter | None) -> None:
        """Earlier calls whose step the resumed run did not reuse (a reply that came back as the
        search was killed): still spent, so still shown, under no node."""
        for slot in list(self.calls):
            self.write_calls(writer, slot, None)

    def decoded_proposals(self, key: str, env: Any) -> list[Proposal] | None:
        """The recorded proposals of expansion `key`, as `env`'s actions; None when not recorded."""
        raw = self.proposals.get(key)
        if raw is None:
            return None
        proposals = []
        for item in raw:
            ok = item.get("error") is None and not item.get("give_up")
            action = env.decode_action(item["action"]) if ok else item["action"]
            proposals.append(
                Proposal(
                    action,
                    item.get("prior"),
                    bool(item.get("give_up")),
                    item.get("error"),
                    item.get("text", ""),
                    dict(item.get("meta") or {}),
                )
            )
        return proposals


def node_record(node: Node, env: Any, text: str) -> dict[str, Any]:
    """The trace record of a node as it stands (written again when its status changes)."""
    step = node.step
    return {
        "type": "node",
        "id": node.id,
        "parent": node.parent.id if node.parent is not None else None,
        "depth": node.depth,
        "action": env.encode_action(node.action) if node.parent is not None else None,
        "text": text,
        "mover": node.mover,
        "prior": node.prior,
        "status": node.status.name.lower(),
        "error": node.error,
        "give_up": node.give_up,
        "reward": step.reward if step is not None else None,
        "terminal": step.terminal if step is not None else None,
        "returns": step.returns if step is not None else None,
        "observation": step.observation[:OBSERVATION_CHARS] if step is not None else None,
    }


def encode_proposal(env: Any, p: Proposal) -> dict[str, Any]:
    """A proposal as an expand record keeps it (`ResumeCache.decoded_proposals` reads it back)."""
    return {
        "action": env.encode_action(p.action) if p.error is None and not p.give_up else p.action,
        "prior": p.prior,
        "give_up": p.give_up,
        "error": p.error,
        "text": p.text,
        **({"meta": p.meta} if p.meta else {}),
    }


def run_record(
    controller: str, config: dict[str, Any], task: Any, env: str, seed: int, resumed: bool
) -> dict[str, Any]:
    return {
        "type": "run",
        "version": TRACE_VERSION,
        "controller": controller,
        "config": config,
        "task": task,
        "env": env,
        "seed": seed,
        "resumed": resumed,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
