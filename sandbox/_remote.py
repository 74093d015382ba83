"""The trusted evaluator's handle on the jail: calls out, plain data back. Standard library only.

A `Remote` stands in for a function of the solution in the tests' namespace: calling it sends
the (plain-data) arguments to the jail and returns the value the jail answered, rebuilt here
from JSON, or raises the exception it reported. Nothing the solution made ever reaches this
process as an object.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import signal
import sys
import time
from typing import Any

from _jailserve import MAX_REPLY_BYTES, decode, encode


class CaseTimeout(BaseException):
    """The case's time is up (the evaluator's alarm, or the jail reported its own)."""


class JailGone(BaseException):
    """The jail's process ended (or broke the protocol): no later call can be answered."""


class JailBusy(BaseException):
    """The jail never returned from a call that timed out: it cannot answer any more."""


class RemoteError(Exception):
    """An exception of the solution that is not one of the built-in kinds mapped back."""


# Remote exceptions rebuilt as the built-in of the same name; any other (StopIteration, which
# could end a test's loop early, SystemExit, custom classes) becomes a RemoteError.
_MAPPED: dict[str, type[BaseException]] = {
    name: getattr(builtins, name)
    for name in [
        *("ArithmeticError", "AssertionError", "AttributeError", "EOFError", "Exception", "FloatingPointError"),
        *("ImportError", "IndexError", "KeyError", "LookupError", "MemoryError", "ModuleNotFoundError"),
        *("NameError", "NotImplementedError", "OSError", "OverflowError", "RecursionError", "RuntimeError"),
        *("TypeError", "UnboundLocalError", "UnicodeError", "ValueError", "ZeroDivisionError"),
    ]
}
_STALE_WAIT_S = 0.5


class Jail:
    """The RPC client. One call at a time; replies carry the call's id, so a late reply to a
    call that timed out is recognised and dropped."""

    def __init__(self, calls_fd: int, replies_fd: int, output_cap: int) -> None:
        self.calls_fd = calls_fd
        self.replies_fd = replies_fd
        self.output_cap = output_cap
        self.buf = bytearray()
        self.next_id = 0
        self.pending: int | None = None  # a call that timed out before its reply came
        self.gone = False
        self.busy = False

    def request(self, msg: dict[str, Any], limit: float | None) -> dict[str, Any]:
        if self.gone:
            raise JailGone()
        if self.busy:
            raise JailBusy()
        if self.pending is not None and not self._drop_stale():
            self.busy = True
            raise JailBusy()
        self.next_id += 1
        msg.update(id=self.next_id, cap=self.output_cap, limit=limit)
        data = memoryview((json.dumps(msg) + "\n").encode())
        self.pending = self.next_id
        try:
            while data:
                data = data[os.write(self.calls_fd, data) :]
            while True:
                reply = self._read_reply(None)
                if reply.get("id") == self.next_id:
                    self.pending = None
                    return reply
        except OSError as exc:  # EPIPE: the jail is gone
            self.gone = True
            raise JailGone() from exc

    def _drop_stale(self) -> bool:
        """Read the reply of the call that timed out; False when it does not come in time."""
        deadline = time.monotonic() + _STALE_WAIT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            reply = self._read_reply(left)
            if not reply:
                return False
            if reply.get("id") == self.pending:
                self.pending = None
                return True

    def _read_reply(self, timeout: float | None) -> dict[str, Any]:
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                try:
                    reply = json.loads(line)
                except (ValueError, RecursionError):
                    reply = None
                if not isinstance(reply, dict):
                    self.gone = True
                    raise JailGone()
                return reply
            if len(self.buf) > MAX_REPLY_BYTES:
                self.gone = True
                raise JailGone()
            if timeout is not None:
                ready, _, _ = select.select([self.replies_fd], [], [], timeout)
                if not ready:
                    return {}
            chunk = os.read(self.replies_fd, 1 << 16)
            if not chunk:
                self.gone = True
                raise JailGone()
            self.buf += chunk


def remaining_time() -> float | None:
    """What is left of the current case's alarm (None: no limit)."""
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    return max(0.001, left - 0.02) if left > 0 else None


def rebuild_exception(info: dict[str, Any]) -> BaseException:
    name = str(info.get("type") or "Exception")
    message = info.get("message")
    cls = _MAPPED.get(name)
    exc = RemoteError(message or "") if cls is None else cls(message) if message is not None else cls()
    exc._ta_remote = info  # type: ignore[attr-defined]
    return exc


def answer(jail: Jail, msg: dict[str, Any]) -> Any:
    """Send one message; print what the solution printed; return the value or raise."""
    reply = jail.request(msg, remaining_time())
    out = reply.get("out")
    if isinstance(out, str) and out:
        sys.stdout.write(out)
    if reply.get("timeout"):
        raise CaseTimeout()
    if "exc" in reply:
        raise rebuild_exception(reply["exc"] if isinstance(reply["exc"], dict) else {})
    return decode(reply.get("ok"))


class Remote:
    """A function of the solution, called in the jail."""

    __slots__ = ("_jail", "_name")

    def __init__(self, jail: Jail, name: str) -> None:
        self._jail, self._name = jail, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            msg: dict[str, Any] = {"op": "call", "fn": self._name, "args": [encode(a) for a in args]}
            msg["kwargs"] = {str(k): encode(v) for k, v in kwargs.items()}
        except TypeError as exc:
            raise TypeError(f"cannot pass this argument to the solution's {self._name}(): {exc}") from None
        return answer(self._jail, msg)

    def __repr__(self) -> str:
        return f"<solution function {self._name}>"
