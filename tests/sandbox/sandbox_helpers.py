"""Shared by the sandbox tests: uids of the test sandboxes, a host-side process scan, a check()."""

from __future__ import annotations

import asyncio
import os
import textwrap

from treeagent.sandbox import RunRequest, Verdict

PROCESS_UID_BASE = 64400
DOCKER_UID_BASE = 64500
WORKERS = 2


def processes_of(uids: range) -> list[tuple[int, int]]:
    """(pid, uid) of live processes owned by any of `uids`, seen from the host."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{name}").st_uid
            if uid not in uids:
                continue
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append((int(name), uid))
    return found


async def lingering(uids: range) -> list[tuple[int, int]]:
    """Processes of `uids` that outlive a run: none once any snapshot is empty, else those still
    there after 30 s and again a second later.

    Leftovers are killed right after the reply, but a process the kernel is OOM-killing in a
    container can take over 10 s to vanish (seen in CI). Stopping at the first empty snapshot,
    with no second look, keeps a process caught mid-exit or mid-start from counting; a real
    leak outlives both checks.
    """
    left = processes_of(uids)
    for _ in range(600):
        if not left:
            return []
        await asyncio.sleep(0.05)
        left = processes_of(uids)
    await asyncio.sleep(1.0)
    return [p for p in processes_of(uids) if p in left]


def run_uids(backend: str) -> range:
    base = PROCESS_UID_BASE if backend == "process" else DOCKER_UID_BASE
    return range(base, base + WORKERS)


CHECK = '''
METADATA = {"author": "x"}

def helper(x):
    return x * 2


def check(candidate):
    """docstring"""
    import math
    assert candidate(1, 2) == 3
    for x in range(3):
        assert candidate(x, 0) == x
    values = [candidate(i, i) for i in range(2)]
    assert values == [0, 2]
    assert candidate(7, 0) == helper(3) + 1, "seven"
'''


def describe(pids: list[tuple[int, int]]) -> str:
    """What lingering processes are, for a failure message."""
    lines = []
    for pid, uid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                status = dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")[:120]
            lines.append(
                f"pid {pid} uid {uid} state {status['State'].strip()} ppid {status['PPid'].strip()} "
                f"sig pending/blocked/caught {status['ShdPnd'].strip()}/{status['SigBlk'].strip()}/"
                f"{status['SigCgt'].strip()} cmd {cmd}"
            )
        except (OSError, KeyError):
            lines.append(f"pid {pid} gone")
    return "\n".join(lines)


def code(src: str) -> str:
    return textwrap.dedent(src).strip() + "\n"


async def assert_clean(sandbox, backend: str) -> None:
    """No process of the runs' uids is left, and a trivial run still works."""
    left = await lingering(run_uids(backend))
    assert left == [], describe(left)
    result = await sandbox.run(RunRequest(code="print('still fine')"))
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "still fine\n"
