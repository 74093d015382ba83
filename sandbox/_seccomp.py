"""A seccomp filter for runs, defense in depth: refuse what a solution never needs.

Built once per worker with libseccomp's own Python binding (Debian's `python3-seccomp`, found in
/usr/lib/python3/dist-packages when the worker's interpreter does not have it), loaded in each
run's process after it dropped its privileges. Without the binding a worker runs without the
filter and names it in its missing isolation.

Refused, with EPERM: new namespaces of any kind (unshare, setns, and clone with a CLONE_NEW*
flag), clone with CLONE_PARENT (a child of the worker, out of the run's reach and reaper),
keyrings (shared by every process of a uid), ptrace and cross-process memory access, mounts,
POSIX message queues (they outlive a run in a container), and kernel facilities no solution
uses (bpf, perf events, userfaultfd, io_uring, module loading, ...). clone3 gets ENOSYS, so
that the C library falls back to clone, whose flags the filter can see. Inet sockets stay
allowed: a run may talk to itself over 127.0.0.1, and the network itself is off by namespace
(process backend) or by Docker.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import os
import sys
from typing import Any

import _jail

_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

_REFUSED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "add_key",
    "request_key",
    "keyctl",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "setns",
    "unshare",
    "fsopen",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mq_open",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "syslog",
)
_CLONE_REFUSED = (
    0x00008000,  # CLONE_PARENT
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


def binding() -> Any:
    """libseccomp's Python module, or None."""
    try:
        return importlib.import_module("seccomp")
    except ImportError:
        if not os.path.isdir(_DIST_PACKAGES):
            return None
    sys.path.append(_DIST_PACKAGES)
    try:
        return importlib.import_module("seccomp")
    except ImportError:
        return None
    finally:
        sys.path.remove(_DIST_PACKAGES)


def build() -> bytes | None:
    """The filter as a compiled BPF program (an array of struct sock_filter), or None without
    the binding. Compiled once here; each run installs the bytes with `install` (libseccomp's
    own load compiles again, in every run's process)."""
    sc = binding()
    if sc is None:
        return None
    refuse = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    with contextlib.suppress(Exception):
        flt.set_attr(sc.Attr.CTL_OPTIMIZE, 2)  # a binary tree of system call numbers, not a list
    for name in _REFUSED:
        try:
            flt.add_rule(refuse, name)
        except (RuntimeError, ValueError, OSError):  # not a system call on this architecture
            continue
    for flag in _CLONE_REFUSED:
        flt.add_rule(refuse, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with os.fdopen(os.memfd_create("seccomp-bpf"), "w+b") as fh:
        flt.export_bpf(fh)
        fh.flush()
        fh.seek(0)
        return fh.read()


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def install(program: bytes) -> None:
    """Install a compiled filter in this process (no_new_privs must be set)."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    if _jail.libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
