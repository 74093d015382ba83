"""The sandbox worker: a warm interpreter that forks once per run. Standard library only.

Started by the toolkit as `python -I -S _worker.py` (process backend) or inside a container
(Docker backend), it talks over stdin/stdout in length-prefixed JSON frames: a config frame in,
a hello frame out (naming any isolation that is missing), then one result frame per request.

The worker sets up once what is costly and can be shared by consecutive runs: a network
namespace, a mount namespace pivoted into a minimal read-only root, a cgroup, the modules a run
usually needs. Between runs it starts the next run's pid namespace (its init only sleeps). Each
run is then one fork into that namespace (killing its init at the end kills every process the
run left, so `setsid()` and double forks cannot escape); the child takes fresh mount, ipc and
uts namespaces with tmpfs /work, /tmp and /dev/shm, rlimits, an unprivileged uid, and either
executes the request's command or runs the Python snippet in this already-warm interpreter.
The reply goes out as soon as the run's process exits; cleanup follows it, then a self-check
(a worker that finds itself broken says so in a frame and exits, and the host gives the next
request to another worker). The worker itself never runs request code.

A test run (`evaluate` in the request) forks the jail the same way, with two more pipes, and
hands their other ends to the worker's long-lived test evaluator (`_evaluator.py`, started once,
as a uid of its own), which reads the tests from the worker's input itself: the worker never
holds a test, so no jail forked from it can find one in its memory.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cleanup
import _evaluator
import _jail
import _resources
import _runchild
import _seccomp
import _supervise
from _frames import discard_frame, read_frame, write_frame

del sys.path[0]

_WORKER_COMPILE_MAX = 256 * 1024
# What the worker and its evaluator may hold between runs before the host replaces them (the
# config's `recycle_rss_mb`): they are long-lived, runs fork from the worker, and in the process
# backend the worker's memory counts against each run's limit. Far above what they need (~15 MB).
RECYCLE_RSS_MB = 192
# Growth over the worker's memory at start after which it trims its heap after a run.
_TRIM_SLACK = 8 << 20
# Imported once by the worker so runs do not pay for them (a cold import of `ast` and
# `traceback` costs more than the rest of a trivial run): the test harness's modules and the
# lightest of what solutions commonly import. Not more: every page the worker holds makes each
# fork dearer (measured: the 26-module set cost a trivial run 1.6 ms more CPU than this one).
WARM_MODULES = [
    "__future__",
    "ast",
    "collections",
    "functools",
    "io",
    "itertools",
    "json",
    "linecache",
    "math",
    "re",
    "signal",
    "time",
    "traceback",
    "typing",
]


class Worker:
    """One worker: its config, its cgroup, and which isolation it could set up."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.uid: int = config["uid"]
        self.gid: int = config["gid"]
        self.container: bool = config.get("container", False)
        self.work_root: str = config["work_root"]
        # shared directories a run may write (a container's /tmp): emptied after each run
        self.scratch_dirs: list[str] = config.get("scratch_dirs", [])
        self.missing: list[str] = []
        try:  # /proc as it is before the worker pivots into its minimal root (where it is gone)
            self.proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            self.proc_fd = -1
        # the trusted test evaluator's uid: never the run's, so a run cannot signal or trace it
        self.judge_uid: int = config.get("judge_uid", self.uid + 100000)
        self.eval_frame_pending = False
        self.broken = False
        self.pidns: _jail.PidNamespaces | None = None
        self.private_fs = False
        root = os.geteuid() == 0
        if not root:
            self.missing.append("unprivileged user (the toolkit does not run as root)")
            self.missing.append("a uid of its own for the test evaluator")
            self.uid, self.gid = os.getuid(), os.getgid()
            self.judge_uid = self.uid
        self.cgroup = _resources.Cgroup(f"w{os.getpid()}") if config.get("cgroups", True) and root else None
        if self.cgroup is not None:
            self.missing += self.cgroup.missing
            # The worker joins its cgroup once and every run is born in it: moving a process
            # between cgroups (v1) waits for an RCU grace period, which cost ~20% of throughput
            # when done per run. The worker's own (small) allocations count against the limit;
            # the OOM killer never picks it.
            self.cgroup.join()
            # Lowering a score needs CAP_SYS_RESOURCE, which some machines' root lacks; then the
            # worker stays at 0, still below its evaluator (500) and its runs (1000), which the
            # OOM killer picks first: nothing to report.
            self._write_oom_score("self/oom_score_adj", "-1000")
        elif not self.container:
            self.missing += ["cgroup memory limit", "cgroup pids limit"]
        if config.get("namespaces", True) and root:
            self.pidns = _jail.probe_run_namespaces()
            if self.pidns is None:
                self.missing.append("pid/mount/ipc/uts namespaces")
            else:
                root_missing = _jail.setup_worker_namespaces(
                    config.get("ro_paths", []), network=config.get("network", False)
                )
                self.missing += root_missing
                self.private_fs = not any(m.startswith(("private root", "mount")) for m in root_missing)
        elif not self.container:
            self.missing.append("pid/mount/ipc/uts/network namespaces")
        if self.container:  # the container is the isolation; its own limits stand in for ours
            self.missing = [m for m in self.missing if not m.startswith(("cgroup", "pid/", "mount", "network"))]
        self._container_oom: int | None = None
        if self.container:  # read-only: the container's memory cgroup, to tell an OOM kill from others
            with contextlib.suppress(OSError):
                self._container_oom = os.open("/sys/fs/cgroup/memory/memory.oom_control", os.O_RDONLY)
        self.seccomp: bytes | None = _seccomp.build() if config.get("seccomp", True) else None
        if self.seccomp is None:
            why = "turned off" if not config.get("seccomp", True) else "install Debian's python3-seccomp"
            self.missing.append(f"seccomp filter ({why})")
        _jail.set_child_subreaper()
        self.runs = 0
        self._code_cache: dict[tuple[str, str], Any] = {}
        for name in config.get("warm_modules", WARM_MODULES):
            with contextlib.suppress(ImportError):
                __import__(name)
        gc.freeze()  # keep the collector from touching (and so copying) the worker's pages in each child
        # The trusted test evaluator: one per worker, in the worker's own pid namespace, as a uid
        # of its own; it never sees a request of the worker, nor the worker a test of its.
        if self.pidns is not None:
            _jail.setns(self.pidns.own, _jail.CLONE_NEWPID)
        self.evaluator_pid, self.evaluator = _evaluator.start(self.judge_uid, self.judge_uid)
        if self.cgroup is not None and not self.cgroup.release(self.evaluator_pid):
            self.missing.append("a cgroup apart from the runs' for the test evaluator")
        if self.proc_fd >= 0 and not self._write_oom_score(f"{self.evaluator_pid}/oom_score_adj", "500"):
            self.missing.append("oom_score_adj of the test evaluator (the OOM killer may pick it before a run)")
        self.recycle_rss: int = int(config.get("recycle_rss_mb", RECYCLE_RSS_MB)) << 20
        self.base_rss: int = self._resident("self") or 0

    def hello(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "uid": self.uid, "missing": self.missing, "evaluator_pid": self.evaluator_pid}

    def _write_oom_score(self, path: str, value: str) -> bool:
        try:
            fd = os.open(path, os.O_WRONLY, dir_fd=self.proc_fd)
        except OSError:
            return False
        try:
            os.write(fd, value.encode())
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def _oom_kills(self) -> int:
        """OOM kills so far in our cgroup, or (in a container) in the container's own."""
        if self.cgroup is not None:
            return self.cgroup.oom_kills()
        if self._container_oom is not None:
            return _resources.read_oom_kills(self._container_oom)
        return 0

    def after_run(self) -> None:
        """Clean up after a run, once its reply is sent: kill what it left, empty its dirs."""
        _cleanup.kill_strays(self.pidns, self.cgroup, self.uid, self.gid, keep=self.evaluator_pid)
        if not self.private_fs:
            _cleanup.remove_tree(os.path.join(self.work_root, f"u{self.uid}"))
            if self.container:  # the container's /work is this worker's alone
                _cleanup.empty_dir(self.work_root)
            for scratch in self.scratch_dirs:
                _cleanup.empty_dir(scratch)

    def _resident(self, pid: str) -> int | None:
        return _resources.resident_bytes(self.proc_fd, pid) if self.proc_fd >= 0 else None

    def memory_problem(self) -> str | None:
        """After a run (whose request is freed by now): trim the worker's heap if it grew, and
        say so if the worker or its evaluator still holds more than `recycle_rss_mb`, for the
        host to replace them before the next run."""
        own = self._resident("self")
        if own is not None and own > self.base_rss + _TRIM_SLACK:
            _resources.trim_heap()
            own = self._resident("self")
        for who, held in (("the worker", own), ("its test evaluator", self._resident(str(self.evaluator_pid)))):
            if held is not None and held > self.recycle_rss:
                return f"{who} holds {held >> 20} MB after a run (more than {self.recycle_rss >> 20} MB)"
        return None

    def evaluator_alive(self) -> bool:
        try:
            return os.waitpid(self.evaluator_pid, os.WNOHANG)[0] == 0
        except ChildProcessError:
            return False

    def health(self) -> str | None:
        """What is wrong with this worker after a run's cleanup, if anything: the host then
        replaces it before it takes another request."""
        if not self.evaluator_alive():
            return "its test evaluator ended"
        memory = self.memory_problem()
        if memory is not None:
            return memory
        if self.pidns is None and os.geteuid() == 0 and self.uid != 0 and _cleanup.live_processes_of(self.uid):
            return f"processes of uid {self.uid} survived the cleanup"
        if not self.private_fs:
            if os.path.lexists(os.path.join(self.work_root, f"u{self.uid}")):
                return "the last run's work dir could not be removed"
            for path in [self.work_root, *self.scratch_dirs] if self.container else self.scratch_dirs:
                try:
                    if os.listdir(path):
                        return f"{path} could not be emptied"
                    st = os.statvfs(path)
                except OSError as exc:
                    return f"{path} is unusable ({exc.strerror})"
                if st.f_blocks and st.f_bfree < st.f_blocks * 0.9:
                    return f"{path} stays full after cleanup"
        return None

    def prepare_next(self) -> None:
        """Work for the next run that can be done before it arrives (its pid namespace's init)."""
        if self.pidns is not None:
            try:
                self.pidns.prepare()
            except OSError:  # the run will try again and report what fails
                self.pidns.init_pid = None

    def close(self) -> None:
        # The next run's init goes first: it was forked holding a copy of the evaluator's control
        # socket, and while any copy is open the evaluator never sees the end of file it leaves at
        # (a host killed without closing its pool left both waiting on each other for good).
        if self.pidns is not None:
            self.pidns.finish()
        self.evaluator.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.evaluator_pid, 0)
        if self.cgroup is not None:
            self.cgroup.remove()

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        self.runs += 1
        # A test run's next frame is the evaluator's config (the tests): only the evaluator reads it.
        self.eval_frame_pending = bool(req.get("evaluate"))
        if self.cgroup is not None:
            try:
                self.cgroup.set_limits(int(req["memory_limit_mb"]) << 20, int(req["max_processes"]) + 3)
            except OSError:  # the worker's own share (it holds the request) is over the new limit
                return {
                    "verdict": "memory",
                    "message": f"memory_limit_mb={req['memory_limit_mb']} is below what holding this request "
                    "takes; raise it",
                }
            self.cgroup.reset_peak()
        oom_before = self._oom_kills()
        workdir = "/work" if self.private_fs else os.path.join(self.work_root, f"u{self.uid}")
        if not self.private_fs:
            _cleanup.remove_tree(workdir)
            os.makedirs(workdir, mode=0o700)
            os.chown(workdir, self.uid, self.gid)
        code: Any = None
        if req.get("code") is not None and not req.get("command"):
            code = self._compile(req["code"], os.path.join(workdir, "main.py"))
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        pipes = {"in": in_w, "out": out_r, "err": err_r, "status": st_r}
        # a test run: the jail answers calls on two more pipes; the evaluator makes them
        calls_r, calls_w = os.pipe() if self.eval_frame_pending else (-1, -1)
        replies_r, replies_w = os.pipe() if self.eval_frame_pending else (-1, -1)
        start = time.monotonic()
        pid = self.pidns.fork() if self.pidns is not None else os.fork()
        if pid == 0:
            try:
                for fd in (*pipes.values(), calls_w, replies_r):
                    if fd >= 0:
                        os.close(fd)
                rpc = (calls_r, replies_w) if calls_r >= 0 else None
                _runchild.child(self, req, workdir, code, (in_r, out_w, err_w, st_w), rpc)
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    os.write(st_w, f"E sandbox setup failed: {exc!r}\n".encode())
            finally:
                os._exit(72)
        for fd in (in_r, out_w, err_w, st_w, calls_r, replies_w):
            if fd >= 0:
                os.close(fd)
        control: int | None = None
        if calls_w >= 0:
            try:
                socket.send_fds(self.evaluator, [b"r"], [calls_w, replies_r])
                control = self.evaluator.fileno()
                self.eval_frame_pending = False  # the evaluator reads it
            finally:
                os.close(calls_w)
                os.close(replies_r)
        try:
            result = _supervise.supervise(req, pid, pipes, start, companion=control)
        finally:
            for fd in pipes.values():
                if fd >= 0:
                    os.close(fd)
        if control is not None:
            said = result.pop("companion", None)
            if said is None:
                said = _supervise.read_within(control, start + float(req["time_limit_s"]) + 2.0 - time.monotonic())
            if said != b"d":
                self.broken = True  # the evaluator may have written part of its frame: restart us
        if self._oom_kills() > oom_before and result["verdict"] not in ("timeout", "output"):
            result["verdict"] = "memory"
            result["message"] = f"memory limit of {req['memory_limit_mb']} MB exceeded (killed by the OOM killer)"
        if self.cgroup is not None:
            result["peak_memory_mb"] = round(self.cgroup.peak() / (1 << 20), 2)
        return result

    def _compile(self, source: str, filename: str) -> Any:
        """Compile here, before the fork (much cheaper than in a fresh child); small sources that
        repeat (a test harness) are cached. A compile error is passed on for the child to raise.

        Large sources (None) are left to the run itself: compiling them can take more memory
        than the worker should spend outside the run's limits."""
        if len(source) > _WORKER_COMPILE_MAX:
            return None
        key = (source, filename)
        cached = self._code_cache.get(key)
        if cached is not None:
            return cached
        try:
            code: Any = compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as exc:
            return exc
        if len(source) < (1 << 16):
            if len(self._code_cache) >= 64:
                self._code_cache.pop(next(iter(self._code_cache)))
            self._code_cache[key] = code
        return code


def main() -> None:
    # SIGPIPE ignored: writing a run's stdin after it exited must be an EPIPE error, not the
    # worker's death. SIGINT ignored: the worker has no use for KeyboardInterrupt, and a run's
    # init shares its memory, so no signal handler of the worker may run in it.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = read_frame()
    if config is None:
        return
    worker = Worker(config)
    worker.prepare_next()
    write_frame(worker.hello())
    try:
        while True:
            req = read_frame()
            if req is None:
                break
            if not worker.evaluator_alive():  # e.g. killed from outside: hand the request back
                if req.get("evaluate"):
                    discard_frame()
                write_frame({"broken": "its test evaluator ended"})
                break
            try:
                result = worker.run(req)
            except Exception as exc:  # a broken machine or a bug: report it, keep serving
                result = {"verdict": "error", "message": f"sandbox worker failed: {exc!r}", "internal": True}
            if worker.eval_frame_pending:  # no evaluator read the tests: drop them unseen
                discard_frame()
                worker.eval_frame_pending = False
            if worker.broken:
                break
            write_frame(result)
            del req, result  # nothing of a run stays in the worker for the next (which forks from it)
            try:
                worker.after_run()
                worker.prepare_next()
                problem = worker.health()
            except Exception as exc:
                problem = f"its cleanup failed: {exc!r}"
            if problem is not None:  # read by the next request, which the host then gives to another worker
                write_frame({"broken": problem})
                break
    finally:
        worker.close()


if __name__ == "__main__":
    main()
