"""Linux isolation primitives for the sandbox worker: namespaces, mounts, cgroups (v1), rlimits.

Standard library only: this module runs inside the worker process (and inside the Docker
sandbox image), never in the toolkit's own process. Every mechanism is probed, so a machine that
lacks one still runs code, and the worker reports what is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import select
import shutil

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())


def _open_libc() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)  # glibc: no need for ctypes.util (and subprocess)
    except OSError:
        from ctypes import util

        return ctypes.CDLL(util.find_library("c"), use_errno=True)


libc = _open_libc()
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.clone.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
_CLONE_VM = 0x00000100
_SIGCHLD = 17
_SYS_PAUSE = {"x86_64": 34}.get(platform.machine())
_INIT_STACK = 16384


def spawn_idle_init() -> tuple[int, ctypes.Array[ctypes.c_char]]:
    """Start a process that only sleeps, sharing this process's memory (no copy, no exec).

    It runs libc's `syscall(SYS_pause)` on a small stack of its own and never touches Python;
    it becomes pid 1 when the caller has just unshared CLONE_NEWPID. Returns its pid and the
    stack, which must stay alive until the process is reaped.
    """
    if _SYS_PAUSE is None:
        raise OSError(errno.ENOSYS, "no pause(2) on this architecture")
    stack = ctypes.create_string_buffer(_INIT_STACK)
    top = (ctypes.addressof(stack) + _INIT_STACK) & ~0xF
    fn = ctypes.cast(libc.syscall, ctypes.c_void_p)
    pid = int(libc.clone(fn, top, _CLONE_VM | _SIGCHLD, _SYS_PAUSE))
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"clone: {os.strerror(err)}")
    return pid, stack


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(libc.setns(fd, nstype), "setns")


def mount(src: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        libc.mount(
            src.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(libc.umount2(target.encode(), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    if _SYS_PIVOT_ROOT is None:
        raise OSError(errno.ENOSYS, "pivot_root: unknown syscall number on this architecture")
    _check(libc.syscall(_SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def set_parent_death_signal(sig: int) -> None:
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def set_child_subreaper() -> None:
    """Orphans of this process's descendants are reparented to it instead of to init."""
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def set_dumpable(on: bool) -> None:
    """An undumpable process cannot be ptraced, nor its /proc files read, by its own uid."""
    libc.prctl(4, 1 if on else 0, 0, 0, 0)  # PR_SET_DUMPABLE


def set_no_new_privs() -> None:
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def bind(src: str, target: str, readonly: bool = True) -> None:
    """Bind `src` at `target`; read-only binds need a second remount call (a kernel rule)."""
    mount(src, target, None, MS_BIND | MS_REC)
    if readonly:
        mount(src, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _mkdirs(path: str, mode: int = 0o755) -> None:
    os.makedirs(path, mode=mode, exist_ok=True)


_DEVICES = ("null", "zero", "full", "random", "urandom")


def build_root(new_root: str, ro_paths: list[str]) -> None:
    """Make `new_root` (an empty tmpfs) a minimal root file system and pivot into it.

    The new root holds the host's top-level symlinks (merged /usr), read-only binds of /usr, /etc
    and `ro_paths` (the interpreter's prefix), a few device nodes, and empty mount points that
    each run fills with its own tmpfs (/work, /tmp, /dev/shm) and proc (/proc). Nothing else of
    the host (the project's files, /root, /home, /var, /tmp) is visible afterwards.
    """
    for name in sorted(os.listdir("/")):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(new_root, name))
    for d in ("work", "tmp", "proc", "dev", "dev/shm", ".old"):
        _mkdirs(os.path.join(new_root, d))
    os.chmod(os.path.join(new_root, "tmp"), 0o1777)
    seen: set[str] = set()
    for host in ["/usr", "/etc", *ro_paths]:
        host = os.path.realpath(host)
        if host in seen or not os.path.isdir(host) or os.path.islink(os.path.join(new_root, host[1:])):
            continue
        seen.add(host)
        target = os.path.join(new_root, host.lstrip("/"))
        _mkdirs(target)
        bind(host, target)
    for dev in _DEVICES:
        target = os.path.join(new_root, "dev", dev)
        with open(target, "w"):
            pass
        bind("/dev/" + dev, target, readonly=False)
    for link, dest in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")):
        os.symlink(dest, os.path.join(new_root, "dev", link))
    os.symlink("/proc/self/fd/2", os.path.join(new_root, "dev", "stderr"))
    pivot_root(new_root, os.path.join(new_root, ".old"))
    os.chdir("/")
    umount("/.old")
    os.rmdir("/.old")
    mount("none", "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def loopback_up() -> None:
    """Bring up `lo` in a new network namespace: a run may talk to itself over 127.0.0.1 (a test
    server, say), and nothing else is there. Runs never get CAP_NET_ADMIN, so none can change it."""
    import fcntl
    import socket
    import struct

    ifreq = struct.Struct("16sH14s")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = ifreq.unpack(fcntl.ioctl(sock, 0x8913, ifreq.pack(b"lo", 0, b"")))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(sock, 0x8914, ifreq.pack(b"lo", flags | 0x1, b""))  # SIOCSIFFLAGS, IFF_UP


def setup_worker_namespaces(ro_paths: list[str], network: bool = False) -> list[str]:
    """Give the whole worker its own network and mount namespace and a minimal root.

    Done once per worker (creating a network namespace costs more than a run should). Returns
    the isolation that could not be set up, by name; an empty list means all is on.
    """
    missing: list[str] = []
    try:
        unshare(CLONE_NEWNS)
    except OSError:
        return ["mount namespace", "network namespace", "private root file system"]
    if not network:
        try:
            unshare(CLONE_NEWNET)
            loopback_up()
        except OSError:
            missing.append("network namespace")
    try:
        mount("none", "/", None, MS_REC | MS_PRIVATE)
        staging = "/tmp"
        mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
        build_root(staging, ro_paths)
    except OSError as exc:
        missing.append(f"private root file system ({exc})")
    return missing


RUN_NAMESPACES = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS


class PidNamespaces:
    """A fresh pid namespace per run, with its init started ahead of time.

    `unshare(CLONE_NEWPID)` puts the caller's *future children* into a new namespace; the first
    becomes its init (pid 1), and when the init dies the kernel kills everything else in it. So
    between runs the worker starts an init that does nothing (`sleep`, spawned without copying
    the worker's memory), leaves its own children's namespace pointing there, and at run time
    forks the run straight into it: pid 2, an ordinary process (it can signal itself; `setsid()`
    and double forks cannot leave). At the end, killing the init kills whatever the run left.
    Orphans are not reaped until then, which only matters to a run that orphans thousands.
    """

    def __init__(self, init_argv: list[str]) -> None:
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.init_argv = init_argv
        self.init_pid: int | None = None
        self._stack: ctypes.Array[ctypes.c_char] | None = None
        self._shared_init = _SYS_PAUSE is not None

    def prepare(self) -> None:
        """Start the next run's init (idempotent)."""
        if self.init_pid is not None:
            return
        setns(self.own, CLONE_NEWPID)
        unshare(CLONE_NEWPID)
        if self._shared_init:
            try:
                self.init_pid, self._stack = spawn_idle_init()
                return
            except OSError:
                self._shared_init = False
        # stdio on /dev/null: the init must not hold the worker's protocol pipes open
        null = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_RDWR, 0) for fd in (0, 1, 2)]
        self.init_pid = os.posix_spawn(
            self.init_argv[0], self.init_argv, {}, file_actions=null, setsigdef=(15, 1, 2, 13)
        )

    def fork(self) -> int:
        """Fork the run into the prepared namespace."""
        self.prepare()
        try:
            return os.fork()
        except OSError:  # the init died (it should not): start over once
            self.finish()
            self.prepare()
            return os.fork()

    def finish(self, keep: int = -1) -> bool:
        """Kill the run's init, and so every process left in its namespace; reap it.

        The init's exit waits until every process of its namespace is reaped, and a process a
        run made with CLONE_PARENT is the worker's child, not the init's: so until the init is
        reaped, reap whatever other children have ended. Returns False if `keep` (a child that
        must live on) was among them."""
        pid, self.init_pid = self.init_pid, None
        if pid is None:
            return True
        kept = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # already reaped
            self._stack = None
            return True
        try:
            while not select.select([pidfd], [], [], 0.005)[0]:
                with contextlib.suppress(ChildProcessError):
                    while True:
                        other = os.waitpid(-1, os.WNOHANG)[0]
                        if other <= 0:
                            break
                        kept = kept and other != keep
                        if other == pid:
                            break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        finally:
            os.close(pidfd)
        self._stack = None
        return kept


def probe_run_namespaces() -> PidNamespaces | None:
    """Per-run namespaces (pid, mount, ipc, uts), if this process may create them."""
    sleep = shutil.which("sleep")
    if sleep is None:
        return None
    try:
        pidns = PidNamespaces([sleep, "infinity"])
        pidns.prepare()
        pid = pidns.fork()
    except OSError:
        return None
    if pid == 0:
        try:
            unshare(RUN_NAMESPACES)
        except OSError:
            os._exit(1)
        os._exit(0 if os.getpid() == 2 else 2)
    _, status = os.waitpid(pid, 0)
    pidns.finish()
    return pidns if os.waitstatus_to_exitcode(status) == 0 else None
