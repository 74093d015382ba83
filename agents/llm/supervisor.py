"""Keeps an inference server's whole process tree tied to one process group and one parent.

A killed vLLM API server leaves its engine and worker processes running (~3.7 GB). The launcher
therefore starts this supervisor as a new session (its own process group); the supervisor starts
the server inside that group and, on SIGTERM/SIGINT/SIGHUP, on the server's exit, or when the
parent that launched it dies (PR_SET_PDEATHSIG), terminates the server and then kills the whole
group. Run as `python -m treeagent.agents.llm.supervisor [--parent PID] -- command ...`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from types import FrameType

_PR_SET_PDEATHSIG = 1
GRACE_S = 10.0


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the launcher dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: rely on the launcher's own cleanup
        return
    if os.getppid() != parent:
        sys.exit(0)


def _kill_group() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    parent = None
    if argv[:1] == ["--parent"]:
        parent = int(argv[1])
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: supervisor [--parent PID] -- command ...", file=sys.stderr)
        return 2
    if parent is not None:
        _die_with_parent(parent)
    child = subprocess.Popen(argv)
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        child.send_signal(signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stopping:
                deadline = time.monotonic() + GRACE_S
                while child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                polled = child.poll()
                code = polled if polled is not None else -9
                break
    sys.stdout.flush()
    sys.stderr.flush()
    _kill_group()  # engine and workers the server left behind; kills this process too
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
