"""Resumable results files: one JSON line per finished task, appended as each one finishes.

`eval` (coding, MiniWoB, BFCL) and `compare` all write them, so a killed run loses nothing and a
re-run skips what is done. Every line carries the run's `config`; a file written under another
configuration is refused rather than mixed in.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any


class ResultsFileError(ValueError):
    """The results file belongs to another configuration or is not a results file."""


def read_results(path: Path, config: Any, key: str = "id", kind: str = "eval") -> dict[str, dict[str, Any]]:
    """The finished tasks in `path` by `row[key]`; {} when there is no file yet. A torn last line
    (a run killed while writing it) is ignored; any other bad line is an error naming it."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"cannot read results file {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ResultsFileError(f"{path}:{number} is not JSON; is this an {kind} results file?") from None
        if not isinstance(row, dict) or key not in row or "config" not in row:
            raise ResultsFileError(f"{path}:{number} is not an {kind} result line")
        if row["config"] != config:
            raise ResultsFileError(
                f"{path}:{number} holds results of another configuration ({row['config']}, not {config}); "
                "pass another --out or delete the file"
            )
        done[str(row[key])] = row
    return done


def append_line(path: Path, line: str) -> None:
    """Append one line and flush it (blocking: call through `append_result` from the event loop)."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()


async def append_result(path: Path, row: dict[str, Any]) -> None:
    """Append one result row as a JSON line, off the event loop."""
    await asyncio.to_thread(append_line, path, json.dumps(row, ensure_ascii=False) + "\n")


async def run_resumable(
    ids: Sequence[str],
    solve: Callable[[int], Awaitable[dict[str, Any]]],
    *,
    config: Any,
    path: Path | None,
    jobs: int,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    report_resumed: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Run `solve(i)` for every `ids[i]` not already in `path` (at most `jobs` at once), append each
    new row as it lands (with `config`, and `wall_s` when the row has none), and return every row in
    `ids` order with the number resumed. `on_result` sees the new rows as they land (and, with
    `report_resumed`, the resumed ones first)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    done = read_results(path, config) if path is not None else {}
    wanted = set(ids)
    rows = [row for key, row in done.items() if key in wanted]
    resumed = len(rows)
    if report_resumed and on_result is not None:
        for row in rows:
            on_result(row)
    lock = asyncio.Lock()
    gate = asyncio.Semaphore(jobs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    async def one(index: int) -> None:
        async with gate:
            started = time.perf_counter()
            row = {**await solve(index), "config": config}
            row.setdefault("wall_s", round(time.perf_counter() - started, 3))
        async with lock:
            rows.append(row)
            if path is not None:
                await append_result(path, row)
            if on_result is not None:
                on_result(row)

    await asyncio.gather(*(one(i) for i, key in enumerate(ids) if key not in done))
    order = {key: i for i, key in enumerate(ids)}
    rows.sort(key=lambda r: order.get(str(r["id"]), len(order)))
    return rows, resumed
