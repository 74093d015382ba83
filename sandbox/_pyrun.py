"""Run a Python snippet in the forked warm interpreter, as `python main.py` would. Stdlib only.

The source was compiled by the worker before the fork (compiling in a fresh child costs more
than the rest of a trivial run: its allocator touches new pages); this module runs the code
object with fresh standard streams and a fresh `__main__`, then does what interpreter shutdown
does that a script can notice (join threads, atexit, flush) and leaves with os._exit.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import sys
import types
from typing import Any


def run_python(code: Any, filename: str, status_fd: int) -> None:
    """Never returns. `code` is a code object, the SyntaxError that compiling raised, or None
    (compile main.py here)."""
    streams = (
        open(0, encoding="utf-8", errors="replace", closefd=False),  # noqa: SIM115
        open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False),  # noqa: SIM115
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1),  # noqa: SIM115
    )
    for name, stream in zip(("stdin", "stdout", "stderr"), streams, strict=True):
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    sys.argv = [filename]
    sys.path.insert(0, os.path.dirname(filename))
    for name in (
        "_jail",
        "_resources",
        "_worker",
        "_pyrun",
        "_supervise",
        "_cleanup",
        "_evaluator",
        "_remote",
        "_seccomp",
    ):
        sys.modules.pop(name, None)
    if "random" in sys.modules:  # imported by the worker: without this every run draws the same numbers
        sys.modules["random"].seed()
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": filename, "__builtins__": builtins, "__cached__": None})
    sys.modules["__main__"] = main
    status = 0
    try:
        if isinstance(code, BaseException):
            raise code
        if code is None:  # too large to compile in the worker: compile here, under the run's limits
            with open(filename, encoding="utf-8") as fh:
                code = compile(fh.read(), filename, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = exit_code(exc)
    except BaseException as exc:
        status = 1
        if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM):
            with contextlib.suppress(OSError):
                os.write(status_fd, b"M\n")
        print_exception(exc, skip_first=not isinstance(code, BaseException))
    status = shutdown(status)
    os._exit(status)


def exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    with contextlib.suppress(Exception):
        print(exc.code, file=sys.stderr)
    return 1


def print_exception(exc: BaseException, skip_first: bool = True) -> None:
    """The traceback Python would print, without this runner's own frame."""
    try:
        import traceback

        tb = exc.__traceback__
        if skip_first and tb is not None:
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
    except BaseException:
        with contextlib.suppress(BaseException):
            os.write(2, f"{type(exc).__name__}\n".encode())


def shutdown(status: int) -> int:
    """What interpreter shutdown does that matters to a script: threads, atexit, flushing."""
    try:
        threading = sys.modules.get("threading")  # never imported: no thread to wait for
        if threading is not None:
            threading._shutdown()
        import atexit  # built in: free

        atexit._run_exitfuncs()
    except SystemExit as exc:
        status = exit_code(exc)
    except BaseException as exc:
        print_exception(exc, skip_first=False)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            status = status or 120
    return status
