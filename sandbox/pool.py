"""A pool of warm sandbox workers, each a connection that speaks the worker's frame protocol.

The backends differ only in how a worker is started and reached (a local process's pipes, a
container's exec stream); the pool queues requests fairly (first come, first served), restarts
a worker that dies or stops answering, and never lets a cancelled caller leave a worker with an
unread reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
import warnings
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from treeagent.sandbox import uids
from treeagent.sandbox.models import RunRequest, RunResult, SandboxError, Verdict

log = logging.getLogger("treeagent.sandbox")
_HEADER = struct.Struct(">I")
# Beyond the run's own time limit: forking, writing sources, killing a tree, reading its output.
_REPLY_GRACE_S = 10.0
# How long a worker whose connection broke while a request was sent may take to show what it
# wrote before it went (its end of file follows at once).
_BROKEN_WAIT_S = 1.0


def _frame(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj).encode()
    return _HEADER.pack(len(data)) + data


async def _said_broken(conn: WorkerConn) -> str | None:
    """Why the worker said it is broken, if that frame is what it left unread on its way out
    (the only frame a worker writes between requests); None for anything else."""
    try:
        async with asyncio.timeout(_BROKEN_WAIT_S):
            frame = await conn.recv()
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
        return None
    return str(frame["broken"]) if isinstance(frame, dict) and "broken" in frame else None


class SandboxIsolationWarning(UserWarning):
    """Some isolation mechanism is unavailable on this machine; code runs with less protection."""


class WorkerConn(ABC):
    """A started worker: frames in, frames out, and a way to kill it."""

    reader: asyncio.StreamReader
    hello: dict[str, Any] = {}  # noqa: RUF012 (replaced per instance once the worker answers)

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    async def drain(self) -> None: ...

    @abstractmethod
    async def kill(self) -> None: ...

    def alive(self) -> bool:
        """False once the worker is known to be gone (checked before each request)."""
        return not self.reader.at_eof()

    async def send(self, obj: dict[str, Any]) -> None:
        self.write(_frame(obj))
        await self.drain()

    async def recv(self) -> dict[str, Any]:
        head = await self.reader.readexactly(_HEADER.size)
        body = await self.reader.readexactly(_HEADER.unpack(head)[0])
        reply: dict[str, Any] = json.loads(body)
        return reply

    async def recv_result(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A run's reply, and the evaluator's frame that comes before it in a test run."""
        reply = await self.recv()
        evaluated = None
        if "evaluator" in reply:
            evaluated = reply["evaluator"] if isinstance(reply["evaluator"], dict) else {}
            reply = await self.recv()
        return reply, evaluated


Spawner = Callable[[int], Awaitable[WorkerConn]]


class WorkerPool:
    """N workers; `run` takes the next idle one in arrival order."""

    def __init__(self, spawn: Spawner, size: int, name: str, start_timeout_s: float = 60.0) -> None:
        if size < 1:
            raise ValueError(f"a sandbox pool needs at least one worker, got workers={size}")
        self._spawn = spawn
        self._size = size
        self._name = name
        self._start_timeout_s = start_timeout_s
        self._idle: asyncio.Queue[tuple[int, WorkerConn | None]] = asyncio.Queue()
        self._waiting = 0
        self._all: dict[int, WorkerConn] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.missing_isolation: list[str] = []
        self.started = False

    def connections(self) -> list[WorkerConn]:
        return list(self._all.values())

    async def start(self) -> None:
        if self.started:
            return
        hellos = await asyncio.gather(*(self._start_one(i) for i in range(self._size)), return_exceptions=True)
        errors = [h for h in hellos if isinstance(h, BaseException)]
        if errors:
            await self.close()
            raise SandboxError(f"{self._name}: could not start its workers: {errors[0]}") from errors[0]
        missing = sorted({m for h in hellos if isinstance(h, dict) for m in h.get("missing", [])})
        self.missing_isolation = missing
        if missing:
            text = (
                f"{self._name} runs code WITHOUT: {'; '.join(missing)}. Untrusted code is less contained; "
                "run as root on Linux with namespaces and cgroups, or use DockerSandbox."
            )
            log.warning(text)
            warnings.warn(text, SandboxIsolationWarning, stacklevel=3)
        self.started = True

    async def _start_one(self, index: int) -> dict[str, Any]:
        conn = await asyncio.wait_for(self._spawn(index), self._start_timeout_s)
        try:
            hello = await asyncio.wait_for(conn.recv(), self._start_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            await conn.kill()
            raise SandboxError(f"worker {index} did not answer its config ({exc!r})") from exc
        self._all[index] = conn
        conn.hello = hello
        self._idle.put_nowait((index, conn))
        return hello

    async def run(self, request: RunRequest) -> RunResult:
        return (await self.exchange(request, None))[0]

    async def exchange(
        self, request: RunRequest, tests: dict[str, Any] | None
    ) -> tuple[RunResult, dict[str, Any] | None]:
        """Run `request`; with `tests`, a test run: `request` runs the jail's side, and the
        worker's test evaluator reads `tests` (sent as a frame of their own, which the worker
        itself never reads) and answers with its records."""
        if not self.started:
            raise SandboxError(
                f"{self._name} is not started: use `async with {self._name}(...) as sb:` or await start()"
            )
        for _ in range(self._size + 2):
            outcome = await self._exchange_once(request, tests)
            if outcome is not None:
                return outcome
        raise SandboxError(f"{self._name}: its workers keep breaking after their runs; see the log")

    async def _exchange_once(
        self, request: RunRequest, tests: dict[str, Any] | None
    ) -> tuple[RunResult, dict[str, Any] | None] | None:
        """One try; None when the worker turned out broken before it took the request."""
        if not self._all:
            raise SandboxError(f"{self._name} has no worker left (they died and could not restart): see the log")
        index, conn = await self._next_idle()
        if not conn.alive():  # died while idle: its request would be lost for no fault of the code
            log.warning("%s: worker %d died while idle; restarting it", self._name, index)
            await self._replace(index, conn)
            index, conn = await self._next_idle()
        reply_timeout = request.time_limit_s + _REPLY_GRACE_S
        sent = False
        try:
            wire = request.wire()
            if tests is not None:
                wire["evaluate"] = True
                conn.write(_frame(wire))
                await conn.send(tests)
            else:
                await conn.send(wire)
            sent = True
            async with asyncio.timeout(reply_timeout):  # no extra task per request, unlike wait_for
                reply, evaluated = await conn.recv_result()
        except asyncio.CancelledError:
            # The worker is mid-run: let it finish in the background so its reply is not read
            # by the next request.
            task = asyncio.create_task(self._settle(index, conn, reply_timeout))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            raise
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            if not self.started:
                raise SandboxError(f"{self._name} was closed while this request ran") from exc
            if not sent and (said := await _said_broken(conn)) is not None:
                # It found itself broken after its last run, said so and left before this
                # request could reach it: the request was never taken, so another worker runs it.
                log.warning("%s: worker %d is broken (%s); restarting it", self._name, index, said)
                await self._replace(index, conn)
                return None
            log.warning("%s: worker %d failed (%r); restarting it", self._name, index, exc)
            await self._replace(index, conn)
            killed = RunResult(
                verdict=Verdict.killed,
                message=f"the sandbox worker died or stopped answering ({type(exc).__name__}); it was restarted",
            )
            return killed, None
        if "broken" in reply:  # its self-check after the last run failed: it never saw this request
            log.warning("%s: worker %d is broken (%s); restarting it", self._name, index, reply["broken"])
            await self._replace(index, conn)
            return None
        self._idle.put_nowait((index, conn))
        if reply.get("internal"):
            raise SandboxError(f"{self._name}: {reply.get('message')}")
        return RunResult.model_validate(reply), evaluated

    async def _next_idle(self) -> tuple[int, WorkerConn]:
        self._waiting += 1
        try:
            index, conn = await self._idle.get()
        finally:
            self._waiting -= 1
        if conn is None:
            raise SandboxError(f"{self._name} was closed while this request waited for a worker")
        return index, conn

    async def _settle(self, index: int, conn: WorkerConn, wait_s: float) -> None:
        try:
            await asyncio.wait_for(conn.recv_result(), wait_s)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            await self._replace(index, conn)
            return
        self._idle.put_nowait((index, conn))

    async def _replace(self, index: int, conn: WorkerConn) -> None:
        with contextlib.suppress(Exception):
            await conn.kill()
        self._all.pop(index, None)
        if not self.started:  # closing: it died because we killed it
            return
        try:
            await self._start_one(index)
        except Exception as exc:  # keep serving with fewer workers rather than fail every caller
            log.error("%s: could not restart worker %d: %r", self._name, index, exc)

    async def close(self) -> None:
        self.started = False
        for task in list(self._background):
            task.cancel()
        conns = list(self._all.values())
        self._all.clear()
        await asyncio.gather(*(c.kill() for c in conns), return_exceptions=True)
        while not self._idle.empty():
            self._idle.get_nowait()
        for _ in range(self._waiting):  # wake whoever still waits for a worker, with an error
            self._idle.put_nowait((-1, None))


class PooledSandbox(ABC):
    """What the backends share: `workers` warm workers in a `WorkerPool`, each with a run uid of
    its own from a locked range (`uid_base + index`; without `uid_base`, a free range), started
    and closed with the sandbox. A backend says how a worker starts (`_spawn`) and which requests
    it refuses (`_check`)."""

    def __init__(self, workers: int | None, uid_base: int | None) -> None:
        self.workers = workers if workers is not None else os.cpu_count() or 1
        uids.check_base(uid_base, self.workers)
        self._uid_base_wanted = uid_base
        #: the first run uid (known after start: a free range when uid_base was not given)
        self.uid_base: int | None = uid_base
        self._uids: uids.UidRange | None = None
        self._pool = WorkerPool(self._spawn, self.workers, type(self).__name__)

    @property
    def missing_isolation(self) -> list[str]:
        """Isolation the workers could not set up (empty when all is on); known after start."""
        return list(self._pool.missing_isolation)

    @abstractmethod
    async def _spawn(self, index: int) -> WorkerConn: ...

    @abstractmethod
    def _check(self, request: RunRequest) -> None:
        """Raise SandboxError for a request this backend cannot run as asked."""

    def _uid(self, index: int) -> int:
        assert self.uid_base is not None, "started"
        return self.uid_base + index

    async def _start_pool(self) -> None:
        if self._uids is None:
            self._uids = uids.acquire(self._uid_base_wanted, self.workers)
            self.uid_base = self._uids.base
        try:
            await self._pool.start()
        except BaseException:
            self._release_uids()
            raise

    def _release_uids(self) -> None:
        if self._uids is not None:
            self._uids.release()
            self._uids = None

    async def _close_pool(self) -> None:
        await self._pool.close()
        self._release_uids()

    async def start(self) -> None:
        await self._start_pool()

    async def close(self) -> None:
        await self._close_pool()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def run(self, request: RunRequest) -> RunResult:
        self._check(request)
        return await self._pool.run(request)

    async def evaluate(self, request: RunRequest, tests: dict[str, Any]) -> tuple[RunResult, dict[str, Any] | None]:
        """A test run (see `testing.run_tests`): `request` runs the jail's side; `tests` go to
        the worker's trusted evaluator only. Returns the jail's result and the evaluator's frame."""
        self._check(request)
        return await self._pool.exchange(request, tests)
