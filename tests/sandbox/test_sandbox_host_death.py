"""A host killed without closing its sandbox leaves no process behind: its workers, their test
evaluators and their next run's pid-namespace init all end once the host's pipes close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HOST = """
import asyncio
from treeagent.sandbox import ProcessSandbox, RunRequest

async def main():
    sb = ProcessSandbox(workers=2, uid_base=64700)
    await sb.start()
    await sb.run(RunRequest(code="print(1)"))  # every worker has served a run and prepared the next
    print("ready", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid from /proc, None once it is gone."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    found = _state_and_parent(pid)
    return found is not None and found[0] != "Z"


def _descendants(root: int) -> set[int]:
    """Live (not zombie) processes below `root`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        found = _state_and_parent(int(entry.name)) if entry.name.isdigit() else None
        if found is not None and found[0] != "Z":
            parents[int(entry.name)] = found[1]
    out, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def test_a_killed_host_leaves_no_sandbox_process() -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        below = _descendants(host.pid)
        assert len(below) >= 4  # two workers, each with at least its evaluator or its next init
    finally:
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in below):
        time.sleep(0.2)
    left = sorted(pid for pid in below if _alive(pid))
    assert not left, f"sandbox processes outlived their host: {left}"
