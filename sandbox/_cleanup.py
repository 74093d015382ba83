"""Cleanup after a run, for the sandbox worker: kill what it left, empty shared dirs. Stdlib only."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import _jail
import _resources


def kill_adopted(keep: int = -1) -> None:
    """The worker is a child subreaper: what a run orphaned (double forks, setsid) was
    reparented to it. Kill those until none is left, and reap them (zombies count as pids)."""
    me = os.getpid()
    for _ in range(100):
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        left = [pid for pid in children_of(me) if pid != keep]
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)


def kill_strays(
    pidns: _jail.PidNamespaces | None, cgroup: _resources.Cgroup | None, uid: int, gid: int, keep: int = -1
) -> None:
    """Kill whatever the run left behind: its pid namespace, or (without one) by cgroup and uid."""
    if pidns is not None:
        if not pidns.finish(keep):
            raise ChildProcessError("the test evaluator ended")
        return
    if cgroup is not None:
        me = os.getpid()
        for _ in range(100):
            left = [p for p in cgroup.pids_left() if p not in (me, keep)]
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)
    if os.geteuid() != 0 or uid == 0:
        kill_adopted(keep)
        return
    kill_by_uid(uid, gid)
    kill_adopted(keep)  # and reap: orphans of runs are ours (child subreaper) and count as pids


def kill_by_uid(uid: int, gid: int) -> None:
    for attempt in range(50):
        try:
            pid = os.fork()
        except BlockingIOError:  # the container's pids limit, full of the run's processes: one by one
            for left in live_processes_of(uid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(left, signal.SIGKILL)
            time.sleep(0.002)
            continue
        if pid == 0:  # kill(-1) as the run's uid reaches exactly that uid's processes
            try:
                os.setgid(gid)
                os.setuid(uid)
                with contextlib.suppress(OSError):
                    os.kill(-1, signal.SIGKILL)
                if attempt == 0:  # as the owner: removing another uid's objects needs CAP_SYS_ADMIN
                    _resources.remove_sysv_ipc(uid)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        if not live_processes_of(uid):
            return
        time.sleep(0.002)


def children_of(ppid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid and fields[0] not in (b"Z", b"X"):
                found.append(int(name))
    return found


def empty_dir(path: str) -> bool:
    """Remove everything inside `path` (never following a symlink); False if anything is left."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        return _empty(fd)
    finally:
        os.close(fd)


def remove_tree(path: str) -> bool:
    """Remove `path` (a file, a symlink, or a directory tree of any depth); False if it is still there."""
    with contextlib.suppress(OSError):
        if not os.path.isdir(path) or os.path.islink(path):
            os.unlink(path)
        elif empty_dir(path):
            os.rmdir(path)
    return not os.path.lexists(path)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _empty(top: int) -> bool:
    """Empty the directory open at `top`, depth first, without recursion and with one directory
    fd open at a time (shutil.rmtree recurses, and a run can nest thousands of directories,
    deeper than PATH_MAX: every step here is relative to an open directory)."""
    fd = os.dup(top)
    names: list[str] = []  # the path from `top` down to `fd`
    try:
        for _ in range(1 << 20):
            sub = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        sub = entry.name
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if sub is not None:
                child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if not names:
                return True
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
        return False
    except OSError:
        return False
    finally:
        os.close(fd)


def live_processes_of(uid: int) -> list[int]:
    """Pids of `uid`'s processes that are not yet dead (zombies excluded). Reads the real uid
    from /proc/PID/status: /proc/PID itself belongs to root once a process has changed uid."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as fh:
                status = fh.read()
        except OSError:
            continue
        fields = dict(line.split(b":", 1) for line in status.splitlines() if b":" in line)
        uids = fields.get(b"Uid", b"").split()
        state = fields.get(b"State", b"").strip()[:1]
        if uids and int(uids[0]) == uid and state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def close_fds_from(low: int) -> None:
    """Close every fd >= low. Listing /proc/self/fd is cheap; a container's seccomp profile may
    refuse close_range(2), and closerange's fallback is one close() per possible fd."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(low, 1 << 16)
        return
    for fd in fds:
        if fd >= low:
            with contextlib.suppress(OSError):
                os.close(fd)
