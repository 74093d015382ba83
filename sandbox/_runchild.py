"""A run's own process, from the worker's fork to the run's code. Standard library only.

It takes fresh mount, ipc and uts namespaces (in the run's pid namespace) with tmpfs /work,
/tmp and /dev/shm, writes the request's files, sets rlimits, drops to the run's uid, loads the
seccomp filter, then either executes the request's command or runs its Python snippet in this
already-warm interpreter. `w` is the worker (`_worker.Worker`): its uid, namespaces, cgroup.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from typing import Any

import _cleanup
import _jail
import _pyrun
import _resources
import _seccomp


def child(
    w: Any, req: dict[str, Any], workdir: str, code: Any, fds: tuple[int, int, int, int], rpc: tuple[int, int] | None
) -> None:
    in_r, out_w, err_w, st_w = fds
    _jail.set_parent_death_signal(signal.SIGKILL)
    if w.pidns is not None:
        _jail.unshare(_jail.RUN_NAMESPACES)
        _jail.mount("proc", "/proc", "proc", _jail.MS_NOSUID | _jail.MS_NODEV | _jail.MS_NOEXEC)
    if w.private_fs:
        size = f"size={int(req['max_file_size_mb']) * 2}m"
        flags = _jail.MS_NOSUID | _jail.MS_NODEV
        _jail.mount("tmpfs", "/work", "tmpfs", flags, f"{size},mode=700,uid={w.uid},gid={w.gid}")
        _jail.mount("tmpfs", "/tmp", "tmpfs", flags, f"{size},mode=1777")
        _jail.mount("tmpfs", "/dev/shm", "tmpfs", flags, f"{size},mode=1777")
    write_files(w, req, workdir)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL if req.get("command") else signal.SIG_IGN)
    os.dup2(in_r, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    status_fd = os.dup2(st_w, 3, inheritable=False)  # not passed on to an executed command
    if rpc is not None:  # calls in on fd 4, replies out on fd 5 (see _jailserve.py)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in rpc]
        os.dup2(high[0], 4, inheritable=False)
        os.dup2(high[1], 5, inheritable=False)
    _cleanup.close_fds_from(6 if rpc is not None else 4)
    os.chdir(workdir)
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")
    mem = int(req["memory_limit_mb"]) << 20
    if w.cgroup is not None and w.cgroup.memory:
        mem = mem * 2 + (256 << 20)  # the cgroup holds resident memory; this stops absurd requests
    _resources.set_rlimits(
        float(req.get("cpu_limit_s") or req["time_limit_s"]),
        mem,
        int(req["max_file_size_mb"]) << 20,
        int(req["max_open_files"]),
        int(req["max_processes"]),
    )
    os.setsid()
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(w.gid)
        os.setuid(w.uid)
    _jail.set_no_new_privs()
    if w.seccomp is not None:
        _seccomp.install(w.seccomp)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp" if w.private_fs else workdir,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(req.get("env") or {})
    if req.get("command"):
        argv = list(req["command"])
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(2, f"sandbox: cannot execute {argv[0]!r}: {exc.strerror}\n".encode())
            os._exit(127)
    os.environ.clear()
    os.environ.update(env)
    _pyrun.run_python(code, os.path.join(workdir, "main.py"), status_fd)


def write_files(w: Any, req: dict[str, Any], workdir: str) -> None:
    files = dict(req.get("files") or {})
    if req.get("code") is not None:
        files["main.py"] = req["code"]
    for rel, content in files.items():
        parts = rel.split("/")
        parent = workdir
        for part in parts[:-1]:  # each new directory belongs to the run's user
            parent = os.path.join(parent, part)
            if not os.path.isdir(parent):
                os.mkdir(parent, 0o755)
                os.chown(parent, w.uid, w.gid)
        fd = os.open(os.path.join(parent, parts[-1]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            data = memoryview(content.encode("utf-8", "surrogateescape"))
            while data:
                data = data[os.write(fd, data) :]
            os.fchown(fd, w.uid, w.gid)
        finally:
            os.close(fd)
