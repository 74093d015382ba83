"""The experiment runner: a list of cells (one task under one recipe each), results that resume.

`run_cells` runs every cell not already in the results file, `jobs` at a time here or one Ray task
each (`use_ray`, inside `ray_backend.ray_cluster`), appends each cell's row to the file as it lands
(one JSON line, with the run's `config`), and reports `CellEvent`s that a command draws. A finished
cell is never run again; a file written under another configuration is refused rather than mixed
in. A cell that raises (a model that does not exist, a server that does not answer, refused
credentials, a bug) is no result: nothing is written for it, the cells still running are
cancelled, and the error is raised to the caller, so a misconfigured run caches nothing.
`run_tasks` is the fan-out underneath, without a results file.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from treeagent.ray_backend import DEFAULT_MAX_RETRIES, maybe_await

Row = dict[str, Any]
#: a cell's work: spec -> row (sync or async; for Ray, a module-level function of JSON data)
CellFn = Callable[[dict[str, Any]], Any]


class ResultsFileError(ValueError):
    """The results file belongs to another configuration or is not a results file."""


@dataclass(frozen=True, slots=True)
class CellEvent:
    """What a command draws: a cell taken from the results file, finished, or failed."""

    kind: Literal["resumed", "finished", "failed"]
    key: str
    done: int
    total: int
    row: Row | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    rows: list[Row]
    resumed: int
    results: str | None


def read_results(path: Path, config: Any, key: str = "id", kind: str = "eval") -> dict[str, Row]:
    """The finished cells in `path` by `row[key]`; {} when there is no file yet. A torn last line
    (a run killed while writing it) is ignored; any other bad line is an error naming it."""
    done: dict[str, Row] = {}
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


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()


async def append_result(path: Path, row: Row) -> None:
    """Append one row as a JSON line, off the event loop."""
    await asyncio.to_thread(_append_line, path, json.dumps(row, ensure_ascii=False) + "\n")


async def run_tasks(
    fn: CellFn,
    specs: Sequence[dict[str, Any]],
    *,
    use_ray: bool = False,
    jobs: int = 1,
    max_retries: int = DEFAULT_MAX_RETRIES,
    num_cpus: float = 1.0,
    on_result: Callable[[int, Any], Any] | None = None,
) -> list[Any]:
    """`fn(spec)` for every spec, results (checked as JSON) in the order of `specs`; `on_result(index,
    result)` (awaited if async) as each lands. Here at most `jobs` at once; with `use_ray` one Ray
    task each. The first spec that raises cancels the others and its error is raised."""
    if use_ray:
        from treeagent.ray_backend import run_on_ray

        return await run_on_ray(fn, specs, max_retries, num_cpus, on_result)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    results: list[Any] = [None] * len(specs)
    gate = asyncio.Semaphore(jobs)

    async def one(index: int, spec: dict[str, Any]) -> None:
        async with gate:
            results[index] = json.loads(json.dumps(await maybe_await(fn(spec))))
        if on_result is not None:
            await maybe_await(on_result(index, results[index]))

    tasks = [asyncio.ensure_future(one(i, s)) for i, s in enumerate(specs)]
    try:
        if tasks:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def run_cells(
    fn: CellFn,
    cells: Sequence[tuple[str, dict[str, Any]]],
    *,
    config: Any,
    out: Path | None = None,
    key: str = "id",
    jobs: int = 1,
    use_ray: bool = False,
    on_event: Callable[[CellEvent], None] | None = None,
    kind: str = "eval",
) -> RunReport:
    """Run every `(cell key, spec)` whose key is not in `out` yet; each row gets `row[key]`,
    `config` and (if it has none) `wall_s`, and is appended to `out` as it lands. Returns every
    row in cell order. Raises the first cell's error (after a `failed` event), writing nothing for it."""
    done = read_results(out, config, key=key, kind=kind) if out is not None else {}
    keys = [k for k, _ in cells]
    resumed = [done[k] for k in keys if k in done]
    todo = [(k, spec) for k, spec in cells if k not in done]
    total, count = len(cells), 0
    emit = on_event or (lambda event: None)
    for row in resumed:
        count += 1
        emit(CellEvent("resumed", str(row[key]), count, total, row=row))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    lock = asyncio.Lock()
    failed: list[str] = []

    async def timed(spec: dict[str, Any]) -> Row:
        started = time.perf_counter()
        try:
            row: Row = dict(await maybe_await(fn(spec)))
        except Exception:
            failed.append(todo[next(i for i, (_, s) in enumerate(todo) if s is spec)][0])
            raise
        row.setdefault("wall_s", round(time.perf_counter() - started, 3))
        return row

    landing: set[asyncio.Future[None]] = set()

    async def land(index: int, row: Any) -> None:
        nonlocal count
        row.setdefault(key, todo[index][0])
        row["config"] = config
        async with lock:
            if out is not None:
                await append_result(out, row)
            count += 1
            emit(CellEvent("finished", todo[index][0], count, total, row=row))

    async def landed(index: int, row: Any) -> None:
        # A row being written when another cell fails still lands and is reported: the write runs
        # in a thread a cancellation cannot stop, so it is shielded and awaited before "failed".
        task = asyncio.ensure_future(land(index, row))
        landing.add(task)
        task.add_done_callback(landing.discard)
        await asyncio.shield(task)

    runner_fn: CellFn = fn if use_ray else timed
    try:
        fresh = await run_tasks(runner_fn, [s for _, s in todo], use_ray=use_ray, jobs=jobs, on_result=landed)
    except Exception as exc:
        await asyncio.gather(*landing, return_exceptions=True)
        emit(CellEvent("failed", failed[0] if failed else "", count, total, error=exc))
        raise
    order = {k: i for i, k in enumerate(keys)}
    rows = sorted([*resumed, *fresh], key=lambda r: order.get(str(r[key]), len(order)))
    return RunReport(rows=rows, resumed=len(resumed), results=str(out) if out is not None else None)
