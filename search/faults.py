"""Node errors as text that says where they came from: a bug in a user's environment or policy
names its file and line in the node's error, the trace and the command's summary."""

from __future__ import annotations

import os
import sysconfig

#: where Python's own library and installed packages live: an error's place is looked for outside
_LIBRARY_PATHS = tuple(
    {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")} | {os.path.dirname(os.__file__)}
)


def error_text(exc: BaseException) -> str:
    """`Type: message (file:line)`: the place is the innermost frame outside Python's own library
    and installed packages, so a bug in a user's environment or policy names its line."""
    text = str(exc).strip()
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    where = raised_at(exc)
    return f"{head} ({where})" if where else head


def raised_at(exc: BaseException) -> str:
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    for filename, line in reversed(frames):
        if not filename.startswith(_LIBRARY_PATHS) and not filename.startswith("<"):
            return f"{_short(filename)}:{line}"
    return ""


def _short(filename: str) -> str:
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative
