"""The worker's side of a run: feed stdin, collect capped output, enforce the deadline, judge.

Standard library only. One poll loop watches the run's pipes and a pidfd of its first process;
at the deadline or the output cap it kills the run. With a pid namespace, killing the run's
first process (its init) takes every process of the run with it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from typing import Any

_CHUNK = 65536
_FINISH_GRACE_S = 0.5
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT, signal.SIGSYS}


class _Stream:
    __slots__ = ("cap", "data", "eof", "fd", "truncated")

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.data = bytearray()
        self.eof = False
        self.truncated = False

    def take(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


def supervise(
    req: dict[str, Any], pid: int, pipes: dict[str, int], start: float, companion: int | None = None
) -> dict[str, Any]:
    """Run the loop for child `pid`; `pipes` maps in/out/err/status to our ends.

    When the run's process exits, what it wrote is already in the pipes: they are drained
    without waiting for end-of-file, which processes it left behind could hold off (those are
    killed after the reply is sent).

    `companion` (a test run's evaluator: a socket that becomes readable when it is done) is
    watched too: once it is done the run has nothing left to do, and is stopped if it has not
    ended by itself shortly after. What it sent, if it did, is in the result's `companion`.
    """
    try:
        return _supervise(req, pid, pipes, start, companion)
    except BaseException:  # a bug or a broken machine: never leave the run unkilled and unreaped
        _kill(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise


def _supervise(
    req: dict[str, Any], pid: int, pipes: dict[str, int], start: float, companion: int | None
) -> dict[str, Any]:
    deadline = start + float(req["time_limit_s"])
    limit = int(req["output_limit_bytes"])
    out, err, status = _Stream(pipes["out"], limit), _Stream(pipes["err"], limit), _Stream(pipes["status"], 4096)
    streams = {s.fd: s for s in (out, err, status)}
    stdin = (req.get("stdin") or "").encode("utf-8", "surrogateescape")
    poller = select.poll()
    for fd in streams:
        os.set_blocking(fd, False)
        poller.register(fd, select.POLLIN)
    if stdin:
        os.set_blocking(pipes["in"], False)
        poller.register(pipes["in"], select.POLLOUT)
    else:
        os.close(pipes["in"])
        pipes["in"] = -1
    pidfd = os.pidfd_open(pid)
    poller.register(pidfd, select.POLLIN)
    comp_fd = companion if companion is not None else -1
    if comp_fd >= 0:
        poller.register(comp_fd, select.POLLIN)
    comp_said: bytes | None = None
    finish_by = float("inf")
    raw: int | None = None
    rusage: Any = None
    reason: str | None = None
    total = 0
    try:
        while raw is None:
            now = time.monotonic()
            if now >= deadline and reason is None:
                reason = "timeout"
                _kill(pid)
            elif now >= finish_by and reason is None:
                reason = "finished"
                _kill(pid)
            wait = max(1, int((min(deadline, finish_by) - now) * 1000) + 1) if reason is None else 50
            for fd, ev in poller.poll(wait):
                if fd == comp_fd:
                    poller.unregister(comp_fd)
                    comp_said = os.read(comp_fd, 1)
                    finish_by = time.monotonic() + _FINISH_GRACE_S
                elif fd == pidfd:
                    _, raw, rusage = os.wait4(pid, 0)
                elif fd == pipes["in"]:
                    stdin = _feed(pipes["in"], stdin, ev)
                    if not stdin:
                        poller.unregister(fd)
                        os.close(fd)
                        pipes["in"] = -1
                elif not streams[fd].eof:
                    total += _read(streams[fd], poller, once=True)
                    if total > limit and reason is None and raw is None:
                        reason = "output"
                        _kill(pid)
        for s in (out, err, status):
            total += _read(s, poller, once=False)
        if total > limit and reason is None:
            reason = "output"
    finally:
        if raw is None:
            _kill(pid)
            _, raw, rusage = os.wait4(pid, 0)
        os.close(pidfd)
    wall = time.monotonic() - start
    cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
    result = judge(req, reason, raw, status.data.decode(errors="replace"), out, err, wall, cpu)
    if comp_said is not None:
        result["companion"] = comp_said
    return result


def read_within(fd: int, timeout: float) -> bytes | None:
    """One byte from `fd` if it comes within `timeout` s (b"" at end of file), else None."""
    if not select.select([fd], [], [], max(0.0, timeout))[0]:
        return None
    return os.read(fd, 1)


def _read(s: _Stream, poller: select.poll, once: bool) -> int:
    """Read what is there (one chunk, or everything up to the stream's cap); bytes seen."""
    seen = 0
    while not s.eof:
        try:
            chunk = os.read(s.fd, _CHUNK)
        except BlockingIOError:
            break
        if not chunk:
            s.eof = True
            poller.unregister(s.fd)
            break
        s.take(chunk)
        seen += len(chunk)
        if once or s.truncated:
            break
    return seen


def _feed(fd: int, data: bytes, ev: int) -> bytes:
    if ev & (select.POLLERR | select.POLLHUP):
        return b""  # the run closed stdin or ended without reading it
    try:
        return data[os.write(fd, data[:_CHUNK]) :]
    except BlockingIOError:
        return data
    except OSError:
        return b""


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def judge(
    req: dict[str, Any],
    reason: str | None,
    raw: int,
    status_text: str,
    out: _Stream,
    err: _Stream,
    wall: float,
    cpu: float,
) -> dict[str, Any]:
    """The verdict, from why we stopped the run (if we did), its exit status and its status pipe."""
    memory_error = False
    setup_error = None
    for line in status_text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "M":
            memory_error = True
        elif tag == "E" and setup_error is None:
            setup_error = rest
    exit_code: int | None = None
    sig: int | None = None
    if os.WIFSIGNALED(raw):
        sig = os.WTERMSIG(raw)
    else:
        exit_code = os.waitstatus_to_exitcode(raw)
    verdict, message = "ok", None
    if reason == "finished":
        message = "stopped once its tests were done"
    elif reason == "timeout":
        verdict, message = reason, f"time limit of {req['time_limit_s']} s exceeded"
    elif reason == "output":
        verdict, message = reason, f"output limit of {req['output_limit_bytes']} bytes exceeded"
    elif setup_error is not None:
        verdict, message = "error", setup_error
    elif memory_error:
        verdict, message = "memory", f"memory limit of {req['memory_limit_mb']} MB exceeded (out of memory)"
    elif sig == signal.SIGKILL and cpu >= _cpu_limit(req):
        # the kernel's kill at the hard CPU limit, one second after SIGXCPU (which the run ignored)
        verdict, message = "timeout", f"CPU time limit of {req.get('cpu_limit_s') or req['time_limit_s']} s exceeded"
    elif sig is not None:
        verdict, message = _signal_verdict(req, sig)
    elif exit_code:
        verdict, message = "error", f"exit code {exit_code}"
    return {
        "verdict": verdict,
        "exit_code": exit_code,
        "signal": sig,
        "message": message,
        "stdout": out.data.decode("utf-8", errors="replace"),
        "stderr": err.data.decode("utf-8", errors="replace"),
        "stdout_truncated": out.truncated,
        "stderr_truncated": err.truncated,
        "wall_ms": round(wall * 1000, 3),
        "cpu_ms": round(cpu * 1000, 3),
    }


def _cpu_limit(req: dict[str, Any]) -> float:
    """The soft RLIMIT_CPU a run gets (see _resources.set_rlimits), in seconds."""
    return max(1, int(float(req.get("cpu_limit_s") or req["time_limit_s"]) + 0.999))


def _signal_verdict(req: dict[str, Any], sig: int) -> tuple[str, str]:
    if sig == signal.SIGXCPU:
        return "timeout", f"CPU time limit of {req.get('cpu_limit_s') or req['time_limit_s']} s exceeded"
    if sig == signal.SIGXFSZ:
        return "output", f"file size limit of {req['max_file_size_mb']} MB exceeded"
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    if sig in _CRASH_SIGNALS:
        return "error", f"crashed with {name}"
    return "killed", f"killed by {name}"
