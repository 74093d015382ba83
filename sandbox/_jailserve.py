"""The candidate's side of a test run: load solution.py, then answer calls. Standard library only.

Run INSIDE the jail as the run's snippet (main.py). It knows nothing of the tests: the trusted
evaluator (`_evaluator.py`, another process) sends one JSON line per call on fd 4 and reads one
JSON line per reply on fd 5. Values cross as plain data (see `encode`), so whatever the solution
does to this process (patch this module, print, exit) can only change what it answers.

The evaluator imports this module for the same codec; `serve()` runs only as __main__.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import time
import traceback
import types
from typing import Any

CALLS_FD = 4
REPLIES_FD = 5
MAX_DEPTH = 200
MAX_REPLY_BYTES = 16 << 20
_BIG_INT_BITS = 4000
_SCALARS = (type(None), bool, int, float, str)


class NotPlainData(TypeError):
    """A value that cannot cross between the jail and the evaluator."""


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able form of plain data, by exact type (a subclass, e.g. an int that equals
    everything, is refused): None, bool, int, float (inf, nan), str, bytes, bytearray, complex,
    list, tuple, dict, set, frozenset. Every dict in the output is a tag."""
    kind = type(value)
    if kind is int and value.bit_length() > _BIG_INT_BITS:
        return {"i": hex(value)}
    if kind in _SCALARS:
        return value
    if depth > MAX_DEPTH:
        raise NotPlainData(f"a value nested more than {MAX_DEPTH} deep")
    depth += 1
    if kind is list:
        return [encode(v, depth) for v in value]
    if kind is tuple:
        return {"t": [encode(v, depth) for v in value]}
    if kind is dict:
        return {"m": [[encode(k, depth), encode(v, depth)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "f": [encode(v, depth) for v in value]}
    if kind is bytes or kind is bytearray:
        return {"b" if kind is bytes else "ba": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise NotPlainData(
        f"a value of type {kind.__qualname__!r} is not plain data (None, bool, int, float, str, bytes, "
        "list, tuple, dict, set): the tests compare plain values only, never an object's own == or a subclass"
    )


def decode(obj: Any) -> Any:
    """The value `encode` described, built from JSON-parsed data (exact built-in types only)."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1:
        raise ValueError("malformed value")
    tag, body = next(iter(obj.items()))
    if tag == "t":
        return tuple(decode(v) for v in body)
    if tag == "m":
        return {decode(k): decode(v) for k, v in body}
    if tag == "s":
        return {decode(v) for v in body}
    if tag == "f":
        return frozenset(decode(v) for v in body)
    if tag == "b":
        return bytes.fromhex(body)
    if tag == "ba":
        return bytearray.fromhex(body)
    if tag == "c":
        return complex(float(body[0]), float(body[1]))
    if tag == "i":
        return int(body, 16)
    raise ValueError(f"malformed value (tag {tag!r})")


class _CallTimeout(BaseException):
    pass


class CappedText(io.StringIO):
    """Captured output, kept up to `cap` characters (what is past it is dropped, not an error)."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, s: str) -> int:
        room = self.cap - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


def format_frames(frames: list[traceback.FrameSummary]) -> list[str]:
    """Traceback entries as Python prints them (file, line, function, then the line's text)."""
    return [f'  File "{fs.filename}", line {fs.lineno}, in {fs.name}\n    {(fs.line or "").strip()}' for fs in frames]


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CallTimeout()


def describe(exc: BaseException, filename: str = "solution.py") -> dict[str, Any]:
    """An exception as plain data: type, message, and where in the solution it was raised."""
    frames = [fs for fs in traceback.extract_tb(exc.__traceback__) if fs.filename == filename]
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:1000] or None}
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        info.update(file=filename, line=exc.lineno, line_text=(exc.text or "").strip())
    elif frames:
        last = frames[-1]
        info.update(file=filename, line=last.lineno, line_text=(last.line or "").strip())
        info["traceback"] = "\n".join(format_frames(frames))[-4000:]
    return info


def _kinds(ns: dict[str, Any]) -> dict[str, list[str]]:
    """What the solution defines at top level, for the evaluator to stand proxies in for."""
    names: dict[str, list[str]] = {}
    for name, value in list(ns.items()):
        if name.startswith("__") or not isinstance(name, str):
            continue
        try:
            if isinstance(value, types.ModuleType):
                names[name] = ["module", str(value.__name__)]
            elif callable(value):
                names[name] = ["call"]
            else:
                encode(value)
                names[name] = ["data"]
        except BaseException:  # a name we cannot describe is simply not offered
            continue
    return names


def _answer(msg: dict[str, Any], ns: dict[str, Any], out: CappedText) -> dict[str, Any]:
    op = msg.get("op")
    if op == "load":
        with open("solution.py", encoding="utf-8") as fh:
            code = compile(fh.read(), "solution.py", "exec")
        exec(code, ns)
        return {"ok": encode({"names": _kinds(ns)})}
    if op == "get":
        return {"ok": encode({name: ns[name] for name in msg["names"] if name in ns})}
    fn = ns.get(msg["fn"])
    if fn is None:
        raise NameError(f"the solution defines no {msg['fn']!r}")
    args = decode(msg.get("args", []))
    kwargs = {k: decode(v) for k, v in (msg.get("kwargs") or {}).items()}
    return {"ok": encode(fn(*args, **kwargs))}


def serve() -> None:
    calls = os.fdopen(CALLS_FD, "rb", buffering=1 << 16)
    ns: dict[str, Any] = {"__name__": "solution", "__builtins__": __builtins__}
    signal.signal(signal.SIGALRM, _on_alarm)
    real_out = sys.stdout
    while True:
        line = calls.readline()
        if not line:
            break
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            msg = None
        if not isinstance(msg, dict):  # a call cut short by the evaluator's alarm: answer nothing
            continue
        out = CappedText(int(msg.get("cap", 2000)))
        reply: dict[str, Any]
        start = time.perf_counter()
        sys.stdout = out
        try:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, float(msg.get("limit") or 3600)))
            try:
                reply = _answer(msg, ns, out)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _CallTimeout:
            reply = {"timeout": True}
        except BaseException as exc:  # the evaluator decides what any exception means
            reply = {"exc": describe(exc)}
        finally:
            sys.stdout = real_out
        reply.update(id=msg.get("id"), out=out.getvalue(), ms=round((time.perf_counter() - start) * 1000, 3))
        data = (json.dumps(reply) + "\n").encode("utf-8", "backslashreplace")
        if len(data) > MAX_REPLY_BYTES:
            big = {"type": "ValueError", "message": f"the reply is over {MAX_REPLY_BYTES} bytes"}
            data = (json.dumps({"id": msg.get("id"), "exc": big}) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(REPLIES_FD, view) :]
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    serve()
