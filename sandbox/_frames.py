"""The worker's protocol: length-prefixed JSON frames on its stdin and stdout. Standard library only."""

from __future__ import annotations

import json
import os
import struct
from typing import Any

_HEADER = struct.Struct(">I")


def read_exact(n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame() -> Any:
    head = read_exact(_HEADER.size)
    if head is None:
        return None
    body = read_exact(_HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def discard_frame() -> None:
    """Skip the next frame without keeping its bytes: they are read into one buffer, which is
    zeroed (runs are forked from this process's memory)."""
    head = read_exact(_HEADER.size)
    if head is None:
        return
    left = _HEADER.unpack(head)[0]
    buf = bytearray(min(left, 1 << 16))
    while left > 0:
        n = os.readv(0, [memoryview(buf)[: min(left, len(buf))]])
        if n == 0:
            break
        left -= n
    buf[:] = bytes(len(buf))


def write_frame(obj: dict[str, Any], fd: int = 1) -> None:
    data = json.dumps(obj).encode("utf-8", "backslashreplace")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]
