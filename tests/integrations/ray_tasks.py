"""Task functions the Ray tests send to workers (a module the workers can import by name)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def crash_once(spec: dict[str, Any]) -> dict[str, Any]:
    """Kills its own worker process on the first attempt (no marker file yet), answers on the next."""
    marker = Path(spec["marker"])
    with marker.open("a") as fh:  # one line per attempt
        fh.write(f"{os.getpid()}\n")
    if len(marker.read_text().splitlines()) == 1:
        os._exit(1)  # the worker dies mid-task, as if killed
    return {"n": spec["n"], "square": spec["n"] ** 2, "attempts": len(marker.read_text().splitlines())}


def fail(spec: dict[str, Any]) -> dict[str, Any]:
    """Raises (a bug in the task, not a dead worker): not retried; counts its attempts."""
    marker = Path(spec["marker"])
    with marker.open("a") as fh:
        fh.write(f"{os.getpid()}\n")
    raise ValueError(f"bad input {spec['n']}")
