"""Stopping a process group whole: an inference server leaves engine and worker processes behind
when only its own process is killed, so it runs in a group of its own and is stopped as one."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress


async def kill_group(pgid: int, exited: Callable[[], bool], grace_s: float = 15.0) -> None:
    """SIGTERM the group (the supervisor stops the server, then kills the rest); SIGKILL if it lingers."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if exited() and not group_alive(pgid):
            return
        await asyncio.sleep(0.2)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """True while any process of the group exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
