"""The experiment runner's Ray backend: one Ray task per spec, results handed back as they land.

`treeagent.runner.run_tasks(fn, specs, use_ray=True)` comes here: `fn(spec) -> result` is a
module-level function (sync or async; the spec and the result are plain JSON data), run in a Ray
worker, its result handed back in the driver's event loop so the caller can append it to its
results file at once.

A worker process that dies mid-task (killed, out of memory, node lost) has its task re-run by Ray
(`max_retries`); an exception raised by the function itself is not retried (it would fail again)
and is reported with the spec that caused it.

    with ray_cluster("local"):                  # or "HOST:PORT" of a running cluster
        rows = asyncio.run(runner.run_tasks(solve_one, specs, use_ray=True))
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

RAY_LOCAL = "local"
#: a local Ray on a small machine: no dashboard, a small object store (results are small JSON)
LOCAL_OBJECT_STORE_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_RETRIES = 3

TaskFn = Callable[[dict[str, Any]], Any]
OnResult = Callable[[int, Any], Any]


class ScaleOutError(RuntimeError):
    """Ray is missing or unreachable, or a task failed for good; the message says which and why."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ScaleOutError("--ray needs the `ray` package: pip install 'treeagent[integrations]'") from None
    return ray


@contextlib.contextmanager
def ray_cluster(address: str, *, num_cpus: int | None = None) -> Iterator[str]:
    """Connect to the Ray cluster at `address`, or start a local one for `"local"`; yields the
    cluster's address. A connection made here is closed at the end; one already open in this
    process is reused and left open."""
    ray = _ray()
    if ray.is_initialized():
        current = str(ray.get_runtime_context().gcs_address)
        if address not in (RAY_LOCAL, current):
            raise ScaleOutError(f"this process is already connected to the Ray cluster at {current}, not {address}")
        yield current
        return
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address == RAY_LOCAL:
        options.update(
            address="local",
            num_cpus=num_cpus or min(2, os.cpu_count() or 1),
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        )
    else:
        _check_reachable(address)
        options["address"] = address
    try:
        ray.init(**options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = "start a local Ray" if address == RAY_LOCAL else f"connect to the Ray cluster at {address}"
        raise ScaleOutError(f"cannot {where}: {exc}") from None
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an address where nothing listens (Ray itself retries for minutes)."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ScaleOutError(f"bad Ray address {address!r}: write HOST:PORT (e.g. 10.0.0.5:6379), or 'local'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ScaleOutError(
            f"nothing answers at {address} ({exc.strerror or exc}): start the cluster (`ray start --head`) "
            "or use --ray local"
        ) from None


def _call(fn: TaskFn, spec: dict[str, Any]) -> Any:
    """Runs in the worker: the function (awaited when it is async), its result checked as JSON."""
    out = fn(spec)
    if inspect.isawaitable(out):
        out = asyncio.run(_await(out))
    return json.loads(json.dumps(out))


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _ship_by_value(fn: TaskFn) -> None:
    """A function from a module the workers cannot import (a script, a file loaded by path) is
    sent by value instead of by reference."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    if module is None or module.__name__ == "__main__":
        return
    try:
        importable = importlib.util.find_spec(module.__name__) is not None
    except (ImportError, ValueError):
        importable = False
    if not importable:
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)


def describe(spec: dict[str, Any]) -> str:
    """A short label for a spec in error messages."""
    text = json.dumps(spec, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


async def run_on_ray(
    fn: TaskFn, specs: Sequence[dict[str, Any]], max_retries: int, num_cpus: float, on_result: OnResult | None
) -> list[Any]:
    """One Ray task per spec (inside `ray_cluster`), re-run up to `max_retries` times if its worker
    dies; `on_result(index, result)` as each lands. The first task that raises stops the rest."""
    ray = _ray()
    if not ray.is_initialized():
        raise ScaleOutError("run_tasks(use_ray=True) needs a Ray connection: call it inside ray_cluster(address)")
    _ship_by_value(fn)
    remote = ray.remote(_call).options(max_retries=max_retries, retry_exceptions=False, num_cpus=num_cpus)
    fn_ref = ray.put(fn)
    refs = [remote.remote(fn_ref, spec) for spec in specs]
    futures = {asyncio.wrap_future(ref.future()): i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(specs)
    pending = set(futures)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                index = futures[future]
                try:
                    results[index] = future.result()
                except Exception as exc:
                    raise ScaleOutError(f"task {index} failed ({describe(specs[index])}): {_cause(exc)}") from None
                if on_result is not None:
                    await maybe_await(on_result(index, results[index]))
    finally:
        for future in pending:
            with contextlib.suppress(Exception):
                ray.cancel(refs[futures[future]], force=True)
    return results


def _cause(exc: BaseException) -> str:
    """The error a task raised, without Ray's wrapping (the remote traceback's last line)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
