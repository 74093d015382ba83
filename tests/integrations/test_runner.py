"""The experiment runner: a finished cell is never run again, a cell whose configuration failed is
never cached (and stops the run), at most `jobs` cells run at once, and every step is an event."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.llm.types import LLMSetupError
from treeagent.runner import CellEvent, ResultsFileError, run_cells

CONFIG = {"recipe": "square", "budget": 3}
CELLS = [(f"t{n}", {"n": n}) for n in range(5)]


class Square:
    """A cell function that records what it was asked to run and how many ran at once."""

    def __init__(self, broken: frozenset[int] = frozenset()) -> None:
        self.calls: list[int] = []
        self.running = 0
        self.peak = 0
        self.broken = broken

    async def __call__(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(spec["n"])
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(0.05 * (5 - spec["n"]))  # later cells finish first
            if spec["n"] in self.broken:
                raise LLMSetupError("HTTP 404 from http://127.0.0.1:1/v1: model 'nope' does not exist")
            return {"square": spec["n"] ** 2}
        finally:
            self.running -= 1


async def test_a_finished_cell_is_skipped_and_rows_come_back_in_cell_order(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "r.jsonl"
    first = Square()
    events: list[CellEvent] = []
    report = await run_cells(first, CELLS[:3], config=CONFIG, out=out, jobs=2, on_event=events.append)
    assert sorted(first.calls) == [0, 1, 2] and first.peak == 2  # the concurrency limit held
    assert [r["id"] for r in report.rows] == ["t0", "t1", "t2"] and report.resumed == 0
    assert [e.kind for e in events] == ["finished"] * 3 and [e.done for e in events] == [1, 2, 3]
    assert {e.key for e in events} == {"t0", "t1", "t2"} and all(e.total == 3 for e in events)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {row["id"]: row["square"] for row in lines} == {"t0": 0, "t1": 1, "t2": 4}
    assert all(row["config"] == CONFIG and row["wall_s"] >= 0 for row in lines)

    second = Square()
    events.clear()
    again = await run_cells(second, CELLS, config=CONFIG, out=out, jobs=2, on_event=events.append)
    assert sorted(second.calls) == [3, 4]  # only the cells not in the file ran
    assert again.resumed == 3 and [r["square"] for r in again.rows] == [0, 1, 4, 9, 16]
    assert [e.kind for e in events] == ["resumed"] * 3 + ["finished"] * 2
    assert [e.done for e in events] == [1, 2, 3, 4, 5] and len(out.read_text().splitlines()) == 5


async def test_a_failed_configuration_is_not_cached_and_stops_the_run(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    broken = Square(broken=frozenset({2}))
    events: list[CellEvent] = []
    with pytest.raises(LLMSetupError, match="model 'nope' does not exist"):
        await run_cells(broken, CELLS, config=CONFIG, out=out, jobs=5, on_event=events.append)
    cached = {json.loads(line)["id"] for line in out.read_text().splitlines()}
    assert "t2" not in cached and cached == {"t3", "t4"}  # only what finished before the failure
    assert events[-1].kind == "failed" and events[-1].key == "t2" and isinstance(events[-1].error, LLMSetupError)
    assert [e.kind for e in events[:-1]] == ["finished"] * 2

    fixed = Square()
    report = await run_cells(fixed, CELLS, config=CONFIG, out=out, jobs=5)
    assert sorted(fixed.calls) == [0, 1, 2] and report.resumed == 2  # the failed cell runs again
    assert [r["square"] for r in report.rows] == [0, 1, 4, 9, 16]


async def test_a_row_written_while_another_cell_fails_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow disk (a loaded machine): t3's write is still under way in its thread when t2 fails.
    import treeagent.runner as runner_module

    real = runner_module._append_line

    def slow_append(path: Path, line: str) -> None:
        time.sleep(0.3)
        real(path, line)

    monkeypatch.setattr(runner_module, "_append_line", slow_append)
    out = tmp_path / "r.jsonl"
    events: list[CellEvent] = []
    with pytest.raises(LLMSetupError):
        await run_cells(Square(broken=frozenset({2})), CELLS, config=CONFIG, out=out, jobs=5, on_event=events.append)
    cached = {json.loads(line)["id"] for line in out.read_text().splitlines()}
    assert {e.key for e in events if e.kind == "finished"} == cached  # every row on disk was reported
    assert events[-1].kind == "failed" and events[-1].key == "t2"


async def test_another_configuration_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    await run_cells(Square(), CELLS[:1], config=CONFIG, out=out)
    other = Square()
    with pytest.raises(ResultsFileError, match="another configuration"):
        await run_cells(other, CELLS, config={**CONFIG, "budget": 4}, out=out)
    assert other.calls == []


async def test_without_a_results_file_every_cell_runs() -> None:
    square = Square()
    report = await run_cells(square, CELLS, config=CONFIG, jobs=1)
    assert square.peak == 1 and square.calls == [0, 1, 2, 3, 4]
    assert report.results is None and [r["square"] for r in report.rows] == [0, 1, 4, 9, 16]
