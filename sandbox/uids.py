"""Uid ranges for sandboxes: each live sandbox on this machine holds a range of its own.

A run's uid decides which processes it may signal and whose RLIMIT_NPROC count it shares (the
kernel counts per uid, across containers too), so two sandboxes with the same range would
starve each other's process limit. A sandbox locks its range (one lock file per uid, held with
flock for the sandbox's life; a dead process's locks go with it).
Without `uid_base` a sandbox takes the first free range from `AUTO_BASE` up; with one, that
range must be free. The workers' test evaluators use the same uids plus `JUDGE_OFFSET`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile

from treeagent.sandbox.models import SandboxError

BLOCK = 32
AUTO_BASE = 70000
AUTO_BLOCKS = 2000
MIN_UID = 1000
JUDGE_OFFSET = 100000
_MAX_UID = (1 << 31) - 1 - JUDGE_OFFSET


def _lock_dir() -> str:
    for path in ("/run/treeagent-sandbox-uids", os.path.join(tempfile.gettempdir(), "treeagent-sandbox-uids")):
        with contextlib.suppress(OSError):
            os.makedirs(path, mode=0o755, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
    raise SandboxError("no writable directory for the sandbox uid locks (/run or the temp dir)")


class UidRange:
    """`base` .. `base + size - 1`, locked until `release()`."""

    def __init__(self, base: int, size: int, fds: list[int]) -> None:
        self.base, self.size, self._fds = base, size, fds

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []


def _try_lock(directory: str, first: int, count: int) -> list[int] | None:
    fds: list[int] = []
    for uid in range(first, first + count):
        fd = os.open(os.path.join(directory, f"uid-{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            for held in fds:
                os.close(held)
            return None
        fds.append(fd)
    return fds


def check_base(uid_base: int | None, workers: int) -> None:
    """A clear error for a range that cannot be used (raised when the sandbox is made)."""
    if uid_base is None:
        return
    if uid_base < MIN_UID:
        raise ValueError(
            f"uid_base={uid_base}: runs would have uids from {uid_base}, which includes system users "
            f"(0 is root, with every capability); use {MIN_UID} or more, or leave it out for a free range"
        )
    if uid_base + workers > _MAX_UID:
        raise ValueError(f"uid_base={uid_base} with {workers} workers is past the largest usable uid ({_MAX_UID})")


def acquire(uid_base: int | None, workers: int) -> UidRange:
    """Lock `uid_base`'s range (SandboxError if another live sandbox holds any of it), or the
    first free one from AUTO_BASE."""
    check_base(uid_base, workers)
    directory = _lock_dir()
    if uid_base is not None:
        fds = _try_lock(directory, uid_base, workers)
        if fds is None:
            raise SandboxError(
                f"uids {uid_base}..{uid_base + workers - 1} are in use by another live sandbox on this machine "
                "(runs would share their process limit): pick another uid_base, or leave it out for a free range"
            )
        return UidRange(uid_base, workers, fds)
    step = -(-workers // BLOCK) * BLOCK
    for base in range(AUTO_BASE, AUTO_BASE + AUTO_BLOCKS * BLOCK, step):
        fds = _try_lock(directory, base, workers)
        if fds is not None:
            return UidRange(base, workers, fds)
    raise SandboxError(
        f"no free uid range for {workers} workers: {AUTO_BLOCKS * BLOCK} uids from {AUTO_BASE} are taken"
    )
