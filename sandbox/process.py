"""The process backend (default): warm local workers, isolated by namespaces, cgroups and rlimits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from treeagent.sandbox import uids
from treeagent.sandbox.models import RunRequest, SandboxError
from treeagent.sandbox.pool import PooledSandbox, WorkerConn, log

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
CGROUP_ROOTS = ("/sys/fs/cgroup/memory/treeagent", "/sys/fs/cgroup/pids/treeagent")


def base_interpreter() -> str:
    """The interpreter behind any virtual environment: workers need only its standard library."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


class _ProcessConn(WorkerConn):
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None and proc.stdin is not None
        self.proc = proc
        self.reader = proc.stdout
        self._stdin = proc.stdin
        self._stderr_task = asyncio.create_task(self._log_stderr())
        # A dead worker's pipes may stay open (a run's init holds copies of them), and asyncio's
        # Process.wait() waits for the pipes too: watch the process itself through a pidfd.
        self._killed = False
        self._pidfd = os.pidfd_open(proc.pid)
        asyncio.get_running_loop().add_reader(self._pidfd, self._exited)

    def _exited(self) -> None:
        self._unwatch()
        if not self.reader.at_eof():
            if not self._killed:
                log.warning("sandbox worker %d exited", self.proc.pid)
            self.reader.feed_eof()

    def _unwatch(self) -> None:
        if self._pidfd >= 0:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    async def _log_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            log.warning("sandbox worker %d: %s", self.proc.pid, line.decode(errors="replace").rstrip())

    def alive(self) -> bool:
        return self.proc.returncode is None and super().alive()

    def write(self, data: bytes) -> None:
        self._stdin.write(data)

    async def drain(self) -> None:
        await self._stdin.drain()

    async def kill(self) -> None:
        self._killed = True
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await self.proc.wait()
        self._stderr_task.cancel()
        self._unwatch()


class ProcessSandbox(PooledSandbox):
    """Run code in warm local worker processes that fork once per run.

    Each run gets fresh pid, mount, ipc and uts namespaces, a private tmpfs work dir in a minimal
    read-only root (the host's /usr and /etc, the interpreter's prefix, nothing else), no network
    (one network namespace per worker), a uid of its own per worker (`uid_base + index`, so that
    runs of different workers cannot signal each other or share an RLIMIT_NPROC count), rlimits,
    and the worker's memory and pids cgroup (v1). Where a mechanism is unavailable it still runs,
    with a `SandboxIsolationWarning` naming what is missing. Without `uid_base`, the sandbox
    takes a uid range no other live sandbox on this machine holds (see `uids.py`); test runs'
    evaluators use the same uids plus 100000.

        async with ProcessSandbox(workers=4) as sb:
            result = await sb.run(RunRequest(code="print(1 + 1)"))
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        uid_base: int | None = None,
        namespaces: bool = True,
        cgroups: bool = True,
        seccomp: bool = True,
        allow_network: bool = False,
        extra_ro_paths: list[str] | None = None,
        python: str | None = None,
    ) -> None:
        super().__init__(workers, uid_base)
        self.namespaces = namespaces
        self.cgroups = cgroups
        self.seccomp = seccomp
        self.allow_network = allow_network
        self.python = python or base_interpreter()
        prefix = os.path.realpath(sys.base_prefix)
        self.ro_paths = [prefix, *(os.path.realpath(p) for p in extra_ro_paths or [])]
        self._work_root: str | None = None

    def worker_pids(self) -> list[int]:
        """Host pids of the live workers (for accounting, e.g. CPU time in benchmarks)."""
        return [c.proc.pid for c in self._pool.connections() if isinstance(c, _ProcessConn)]

    def evaluator_pids(self) -> list[int]:
        """Host pids of the workers' test evaluators (long-lived children of the workers, so
        their CPU time is not in the workers' figures)."""
        hellos = [c.hello for c in self._pool.connections()]
        return [h["evaluator_pid"] for h in hellos if isinstance(h.get("evaluator_pid"), int)]

    async def start(self) -> None:
        if not os.path.exists(self.python):  # noqa: ASYNC240 (one stat, once)
            raise SandboxError(f"interpreter {self.python!r} not found: pass python= to ProcessSandbox")
        if self._work_root is None:
            self._work_root = tempfile.mkdtemp(prefix="treeagent-sandbox-")
            os.chmod(self._work_root, 0o711)
        _remove_stale_cgroups()
        await self._start_pool()

    async def close(self) -> None:
        await self._close_pool()
        _remove_stale_cgroups()  # the workers were killed outright and could not remove their own
        if self._work_root is not None:
            shutil.rmtree(self._work_root, ignore_errors=True)
            self._work_root = None

    def _check(self, request: RunRequest) -> None:
        if request.network and not self.allow_network:
            raise SandboxError("this request asks for network access: create the sandbox with allow_network=True")

    async def _spawn(self, index: int) -> WorkerConn:
        proc = await asyncio.create_subprocess_exec(
            self.python,
            "-I",
            "-S",
            str(WORKER_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},  # runs get their own
        )
        conn = _ProcessConn(proc)
        config: dict[str, Any] = {
            "uid": self._uid(index),
            "gid": self._uid(index),
            "judge_uid": self._uid(index) + uids.JUDGE_OFFSET,
            "work_root": self._work_root,
            "ro_paths": self.ro_paths,
            "namespaces": self.namespaces,
            "cgroups": self.cgroups,
            "seccomp": self.seccomp,
            "network": self.allow_network,
        }
        await conn.send(config)
        return conn


def _remove_stale_cgroups() -> None:
    """Cgroups of workers that were killed outright (their pid is gone) and are empty."""
    for root in CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            for name in os.listdir(root):
                if name.startswith("w") and name[1:].isdigit() and not os.path.exists(f"/proc/{name[1:]}"):
                    with contextlib.suppress(OSError):
                        os.rmdir(os.path.join(root, name))
