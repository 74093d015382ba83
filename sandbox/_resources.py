"""Resource limits for the sandbox worker: cgroup (v1) memory and pids, rlimits, System V IPC.

Standard library only, like the rest of the worker.
"""

from __future__ import annotations

import contextlib
import os
import resource

from _jail import libc


class Cgroup:
    """A worker's own cgroup (v1) for memory and pids; each run's processes join it.

    File descriptors are opened up front so the cgroup stays usable after the worker pivots into
    its minimal root, where /sys is gone.
    """

    ROOTS = (("memory", "/sys/fs/cgroup/memory"), ("pids", "/sys/fs/cgroup/pids"))

    def __init__(self, name: str) -> None:
        self.dirs: dict[str, str] = {}
        self.fds: dict[str, int] = {}
        self.missing: list[str] = []
        for ctrl, root in self.ROOTS:
            path = os.path.join(root, "treeagent", name)
            try:
                os.makedirs(path, mode=0o755, exist_ok=True)
                self.dirs[ctrl] = path
                self.fds[ctrl + ".procs"] = os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY)
                self.fds[ctrl + ".parent"] = os.open(os.path.join(root, "treeagent", "cgroup.procs"), os.O_WRONLY)
                if ctrl == "memory":
                    self.fds["limit"] = os.open(os.path.join(path, "memory.limit_in_bytes"), os.O_WRONLY)
                    self.fds["oom"] = os.open(os.path.join(path, "memory.oom_control"), os.O_RDONLY)
                    self.fds["peak"] = os.open(os.path.join(path, "memory.max_usage_in_bytes"), os.O_RDWR)
                    try:  # TCP buffers: v1 counts them apart from memory.limit_in_bytes, unlimited by default
                        self.fds["tcp"] = os.open(os.path.join(path, "memory.kmem.tcp.limit_in_bytes"), os.O_WRONLY)
                    except OSError:
                        self.missing.append("cgroup limit on TCP buffers")
                else:
                    self.fds["pids.max"] = os.open(os.path.join(path, "pids.max"), os.O_WRONLY)
                    self.fds["pids.list"] = os.open(os.path.join(path, "cgroup.procs"), os.O_RDONLY)
            except OSError:
                self.missing.append(f"cgroup {ctrl} limit")
                self.dirs.pop(ctrl, None)
        self._limits: dict[str, int] = {}

    @property
    def memory(self) -> bool:
        return "memory" in self.dirs

    @property
    def pids(self) -> bool:
        return "pids" in self.dirs

    def _write(self, key: str, value: int) -> None:
        if self._limits.get(key) != value:
            self._limits.pop(key, None)  # unknown until the write succeeds
            os.pwrite(self.fds[key], str(value).encode(), 0)
            self._limits[key] = value

    def set_limits(self, memory_bytes: int, max_pids: int) -> None:
        if self.memory:
            self._write("limit", memory_bytes)
            if "tcp" in self.fds:
                self._write("tcp", memory_bytes)
        if self.pids:
            self._write("pids.max", max_pids)

    def join(self) -> None:
        """Move the calling process into this cgroup (v1 reads "0" as the writer)."""
        for ctrl in ("memory", "pids"):
            if ctrl in self.dirs:
                os.write(self.fds[ctrl + ".procs"], b"0")

    def release(self, pid: int) -> bool:
        """Move `pid` (one of the worker's children) out, to the parent cgroup: what it holds
        must not count against the runs' limits. False if that failed."""
        moved = True
        for ctrl in ("memory", "pids"):
            if ctrl in self.dirs:
                try:
                    os.write(self.fds[ctrl + ".parent"], str(pid).encode())
                except OSError:
                    moved = False
        return moved

    def oom_kills(self) -> int:
        return read_oom_kills(self.fds["oom"]) if self.memory else 0

    def reset_peak(self) -> None:
        if self.memory:
            with contextlib.suppress(OSError):
                os.pwrite(self.fds["peak"], b"0", 0)

    def peak(self) -> int:
        if not self.memory:
            return 0
        return int(os.pread(self.fds["peak"], 64, 0).decode() or 0)

    def pids_left(self) -> list[int]:
        if not self.pids:
            return []
        return [int(p) for p in os.pread(self.fds["pids.list"], 1 << 16, 0).split()]

    def remove(self) -> None:
        for fd in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        for path in self.dirs.values():
            with contextlib.suppress(OSError):
                os.rmdir(path)


def read_oom_kills(fd: int) -> int:
    """The `oom_kill` counter of an open memory.oom_control (cgroup v1)."""
    for line in os.pread(fd, 4096, 0).decode().splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes(proc_fd: int, pid: str = "self") -> int | None:
    """A process's resident memory, from `pid`/statm under an open /proc (None if unreadable)."""
    try:
        fd = os.open(f"{pid}/statm", os.O_RDONLY, dir_fd=proc_fd)
    except OSError:
        return None
    try:
        return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)


def trim_heap() -> None:
    """Hand the heap's free pages back to the kernel: after a big request glibc keeps much of
    what it freed (its mmap threshold grows), and a forked run would start with it."""
    with contextlib.suppress(AttributeError, OSError):
        libc.malloc_trim(0)


_IPC_RMID = 0


def remove_sysv_ipc(uid: int) -> int:
    """Remove the System V shared memory, semaphores and message queues owned by `uid` (they
    outlive processes; without an ipc namespace per run, the next run would see them)."""
    removed = 0
    for kind, call in (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl")):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                header, *rows = fh.read().splitlines()
        except OSError:
            continue
        cols = header.split()
        for row in rows:
            fields = dict(zip(cols, row.split(), strict=False))
            if fields.get("uid") == str(uid) and fields.get(kind + "id", fields.get("semid", "")).isdigit():
                ident = int(fields.get(kind + "id") or fields["semid"])
                args = (ident, 0, _IPC_RMID) if kind == "sem" else (ident, _IPC_RMID, None)
                if getattr(libc, call)(*args) == 0:
                    removed += 1
    return removed


def set_rlimits(cpu_s: float, memory_bytes: int, file_bytes: int, open_files: int, nproc: int) -> None:
    """Per-run resource limits, applied in the run's process before it drops privileges."""
    cpu = max(1, int(cpu_s + 0.999))
    limits = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory_bytes, memory_bytes),
        (resource.RLIMIT_FSIZE, file_bytes, file_bytes),
        (resource.RLIMIT_NOFILE, open_files, open_files),
        (resource.RLIMIT_NPROC, nproc, nproc),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for which, soft, hard in limits:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (soft, hard))
