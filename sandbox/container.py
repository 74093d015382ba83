"""The Docker backend: one warm container per worker, each running the sandbox worker via exec.

Containers have no network, a read-only root, tmpfs /work and /tmp, memory, pids and CPU limits,
all capabilities dropped but the few the worker needs to drop to an unprivileged uid and clean
up after a run, and no-new-privileges. The worker inside is the same program as the process
backend's, reached through a `docker exec` stream (the Docker SDK's attach socket), so a run
costs a fork inside a warm container, not a container start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
from typing import Any

from treeagent.sandbox import uids
from treeagent.sandbox.docker_image import WORKER_DIR, connect, ensure_image
from treeagent.sandbox.models import RunRequest, SandboxError
from treeagent.sandbox.pool import PooledSandbox, WorkerConn, log
from treeagent.sandbox.process import base_interpreter

LABEL = "treeagent.sandbox"
_MUX = struct.Struct(">BxxxI")
_WORKER_PIDS = 16  # the container's init, the worker, its evaluator, a cleanup helper, and spare


class _ExecConn(WorkerConn):
    """A worker running inside a container, reached over the exec's multiplexed socket."""

    def __init__(self, container: Any, stream: Any) -> None:
        self.container = container
        # The SDK's socket object for the exec: it holds the exec's HTTP response, which sits in
        # a reference cycle and whose finalizer closes the connection's socket. Dropped, the
        # cyclic garbage collector would close our socket at some arbitrary later moment (the
        # next request then fails with "Connection lost"); held here, it goes only with `kill`.
        self._stream = stream
        self._sock: socket.socket = getattr(stream, "_sock", stream)
        self.reader = asyncio.StreamReader(limit=1 << 30)
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def open(self) -> None:
        raw_reader, self._writer = await asyncio.open_connection(sock=self._sock, limit=1 << 30)
        self._pump = asyncio.create_task(self._demux(raw_reader))

    async def _demux(self, raw: asyncio.StreamReader) -> None:
        """Split Docker's stream framing: stdout carries the protocol, stderr goes to the log."""
        try:
            while True:
                kind, size = _MUX.unpack(await raw.readexactly(_MUX.size))
                payload = await raw.readexactly(size)
                if kind == 1:
                    self.reader.feed_data(payload)
                else:
                    log.warning("sandbox container %s: %s", self.container.short_id, payload.decode(errors="replace"))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.reader.feed_eof()

    def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)

    async def drain(self) -> None:
        assert self._writer is not None
        await self._writer.drain()

    def alive(self) -> bool:
        """Also false once the socket is closed or its transport is closing (the worker's end
        may be gone before the stream's pump has passed the end of file on)."""
        if self._sock.fileno() < 0 or (self._writer is not None and self._writer.transport.is_closing()):
            return False
        return super().alive()

    async def kill(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()  # now, with whatever is unsent: the socket closes below
        if self._pump is not None:
            self._pump.cancel()
        _close_stream(self._stream)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.container.remove, force=True)


def _close_stream(stream: Any) -> None:
    """Close the SDK's exec socket object and the HTTP response it holds."""
    for obj in (getattr(stream, "_response", None), stream):
        if obj is not None:
            with contextlib.suppress(Exception):
                obj.close()


class DockerSandbox(PooledSandbox):
    """Run code in warm, locked-down containers (the `docker` SDK; the daemon must be running).

        async with DockerSandbox(workers=2) as sb:
            result = await sb.run(RunRequest(code="print(1 + 1)"))

    `memory_limit_mb`, `pids_limit` and `cpus` bound each container; a run's own memory limit is
    applied inside it as an address-space limit, its process limit as the uid's RLIMIT_NPROC.
    The image is a skeleton: containers bind this machine's /usr and the interpreter's prefix
    read-only, so the daemon must run on this machine (the usual unix socket).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_limit_mb: int = 1024,
        pids_limit: int = 256,
        cpus: float = 1.0,
        work_size_mb: int = 256,
        uid_base: int | None = None,
        python: str | None = None,
        extra_ro_paths: list[str] | None = None,
    ) -> None:
        super().__init__(workers, uid_base)
        self.memory_limit_mb = memory_limit_mb
        self.pids_limit = pids_limit
        self.cpus = cpus
        self.work_size_mb = work_size_mb
        self.python = python or base_interpreter()
        self.ro_paths = sorted({"/usr", os.path.realpath(sys.base_prefix), *(extra_ro_paths or [])})
        self._client: Any = None
        self._image: str | None = None

    async def start(self) -> None:
        self._check_python()
        if self._client is None:
            self._client = await asyncio.to_thread(connect)
            self._image = await asyncio.to_thread(ensure_image, self._client)
            await asyncio.to_thread(_remove_orphans, self._client)
        await self._start_pool()

    async def close(self) -> None:
        await self._close_pool()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._client.close)
            self._client = None

    def _check_python(self) -> None:
        """The worker's interpreter must be a file of this machine inside a path bound into the
        containers (the daemon would otherwise answer on the exec stream with its own text)."""
        real = os.path.realpath(self.python)
        if not os.path.isfile(real) or not os.access(real, os.X_OK):
            raise SandboxError(f"DockerSandbox(python={self.python!r}): no such executable on this machine")
        bound = [os.path.realpath(p) for p in self.ro_paths]
        if not any(real == b or real.startswith(b.rstrip("/") + "/") for b in bound):
            raise SandboxError(
                f"DockerSandbox(python={self.python!r}) is not inside the paths bound into the containers "
                f"({', '.join(bound)}): pass extra_ro_paths=[...] with its prefix"
            )

    def _check(self, request: RunRequest) -> None:
        if request.max_processes > self.pids_limit - _WORKER_PIDS:
            raise SandboxError(
                f"max_processes={request.max_processes} is over what the container's pids limit "
                f"({self.pids_limit}) leaves a run beside its worker ({_WORKER_PIDS}): "
                "lower it or raise DockerSandbox(pids_limit=...)"
            )
        if request.network:
            raise SandboxError("DockerSandbox runs have no network (--network none); network=True is not supported")
        if request.memory_limit_mb > self.memory_limit_mb:
            raise SandboxError(
                f"memory_limit_mb={request.memory_limit_mb} is over the container's {self.memory_limit_mb} MB: "
                "raise DockerSandbox(memory_limit_mb=...)"
            )

    async def _spawn(self, index: int) -> WorkerConn:
        container, stream = await asyncio.to_thread(self._create, index)
        conn = _ExecConn(container, stream)
        try:
            await conn.open()
            uid = self._uid(index)
            await conn.send(
                {
                    "uid": uid,
                    "gid": uid,
                    "judge_uid": uid + uids.JUDGE_OFFSET,
                    "work_root": "/work",
                    "container": True,
                    "namespaces": False,
                    "cgroups": False,
                    "scratch_dirs": ["/tmp", "/dev/shm"],
                }
            )
        except BaseException:
            await conn.kill()
            raise
        return conn

    def _create(self, index: int) -> tuple[Any, Any]:
        """Start a container and exec the worker in it; returns the container and the SDK's
        socket object for the exec (keep it: see `_ExecConn`). Blocking."""
        mb = self.memory_limit_mb
        tmpfs_opts = f"rw,nosuid,nodev,size={self.work_size_mb}m,mode=1777"
        # /work: root's, searchable only; a run writes in its own u<uid> (which the worker makes
        # and removes), never beside it (no renaming it away, no filling /work for the next run)
        work_opts = f"rw,nosuid,nodev,size={self.work_size_mb}m,mode=0711"
        container = self._client.containers.run(
            self._image,
            command=["/usr/bin/sleep", "infinity"],
            detach=True,
            init=True,
            network_mode="none",
            read_only=True,
            tmpfs={"/work": work_opts, "/tmp": tmpfs_opts},
            volumes={p: {"bind": p, "mode": "ro"} for p in self.ro_paths},
            mem_limit=f"{mb}m",
            memswap_limit=f"{mb}m",
            pids_limit=self.pids_limit,
            nano_cpus=int(self.cpus * 1e9),
            cap_drop=["ALL"],
            cap_add=["SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"],
            security_opt=["no-new-privileges"],
            labels={LABEL: "1", f"{LABEL}.owner": str(os.getpid())},
            environment={"PATH": "/usr/local/bin:/usr/bin:/bin"},
        )
        try:
            api = self._client.api
            exec_id = api.exec_create(
                container.id,
                [self.python, "-I", "-S", f"{WORKER_DIR}/_worker.py"],
                stdin=True,
                stdout=True,
                stderr=True,
                tty=False,
            )["Id"]
            stream = api.exec_start(exec_id, socket=True)
            getattr(stream, "_sock", stream).setblocking(False)
            return container, stream
        except BaseException:
            with contextlib.suppress(Exception):
                container.remove(force=True)
            raise


def _remove_orphans(client: Any) -> None:
    """Containers left by a toolkit process that died without closing its sandbox."""
    for c in client.containers.list(all=True, filters={"label": LABEL}):
        owner = c.labels.get(f"{LABEL}.owner", "")
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            with contextlib.suppress(Exception):
                c.remove(force=True)
