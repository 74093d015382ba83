"""The trusted test evaluator: runs the tests, outside the candidate's jail. Standard library only.

The worker forks it for each test run, next to the jail, as a uid of its own (not the run's),
undumpable, with stdout and stderr on /dev/null. It reads its config (the cases, the trusted
prelude) straight from the worker's input, so the tests never pass through the worker's memory,
which every later jail is forked from. It runs each case in one namespace of its own, where the
solution's functions are `Remote` proxies (see `_remote.py`) and `candidate` is the entry point's,
with an alarm-based time limit and captured output per case, and writes one frame of records
back on the worker's output when done. Asserts are rewritten so a failing `assert a == b`
reports both sides; they compare values rebuilt from plain data, never the solution's objects.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import fcntl
import importlib
import linecache
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import _jail
from _frames import read_frame, write_frame
from _jailserve import CappedText, format_frames
from _remote import CaseTimeout, Jail, JailBusy, JailGone, Remote, answer

_REPR_CAP = 300
_RESERVED = {"candidate", "_ta_compare", "_ta_truth"}
# Modules a solution imported that the tests may use by the same name without importing them
# (the old harness shared the solution's namespace): imported here, never the solution's own.
_MODULES = frozenset(
    [
        *("array", "bisect", "cmath", "collections", "copy", "datetime", "decimal", "fractions", "functools"),
        *("hashlib", "heapq", "itertools", "json", "math", "numbers", "operator", "os", "random", "re"),
        *("statistics", "string", "struct", "sys", "textwrap", "time", "typing", "unicodedata"),
    ]
)


class _CompareFailed(AssertionError):
    def __init__(self, message: Any, op: str, left: Any, right: Any) -> None:
        super().__init__(message)
        self.op, self.left, self.right = op, left, right


class _TruthFailed(AssertionError):
    def __init__(self, message: Any, value: Any, negated: bool) -> None:
        super().__init__(message)
        self.value, self.negated = value, negated


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= _REPR_CAP else text[: _REPR_CAP - 3] + "..."


_OPS: dict[str, Any] = {
    "Eq": lambda a, b: a == b,
    "NotEq": lambda a, b: a != b,
    "Lt": lambda a, b: a < b,
    "LtE": lambda a, b: a <= b,
    "Gt": lambda a, b: a > b,
    "GtE": lambda a, b: a >= b,
    "Is": lambda a, b: a is b,
    "IsNot": lambda a, b: a is not b,
    "In": lambda a, b: a in b,
    "NotIn": lambda a, b: a not in b,
}


def _ta_compare(op: str, left: Any, right: Any, message: Any) -> None:
    if not _OPS[op](left, right):
        raise _CompareFailed(message, op, left, right)


def _ta_truth(value: Any, negated: bool, message: Any) -> None:
    if bool(value) == negated:
        raise _TruthFailed(message, value, negated)


class _Rewriter(ast.NodeTransformer):
    """`assert L op R, m` -> `_ta_compare('op', L, R, m)`; `assert x` -> `_ta_truth(x, False, m)`.

    Only one-operator comparisons are rewritten; others keep Python's own assert. Both sides are
    evaluated once, in order, as the original would.
    """

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        msg = node.msg if node.msg is not None else ast.Constant(None)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            call = ast.Call(
                ast.Name("_ta_compare", ast.Load()),
                [ast.Constant(type(test.ops[0]).__name__), test.left, test.comparators[0], msg],
                [],
            )
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            call = ast.Call(ast.Name("_ta_truth", ast.Load()), [test.operand, ast.Constant(True), msg], [])
        else:
            call = ast.Call(ast.Name("_ta_truth", ast.Load()), [test, ast.Constant(False), msg], [])
        return ast.copy_location(ast.Expr(call), node)


def _compile_case(source: str, filename: str) -> tuple[Any, set[str], set[str]]:
    """The case's code, the names it reads (to fetch the solution's data values first) and the
    names it binds (which the solution's values must then never replace)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    reads, binds = _names(tree)
    tree = ast.fix_missing_locations(_Rewriter().visit(tree))
    return compile(tree, filename, "exec"), reads, binds


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    reads: set[str] = set()
    binds: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            binds.add(node.name)
        elif isinstance(node, ast.alias):
            binds.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            binds.update(node.names)
    return reads, binds


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _describe(exc: BaseException, files: set[str]) -> dict[str, Any]:
    frames = [fs for fs in traceback.extract_tb(exc.__traceback__) if fs.filename in files]
    info: dict[str, Any] = {
        "error_type": type(exc).__name__,
        "message": str(exc)[:1000] or None,
        "expected": None,
        "actual": None,
    }
    if frames:
        info.update(file=frames[-1].filename, line=frames[-1].lineno, line_text=(frames[-1].line or "").strip())
    tb_lines = format_frames(frames)
    remote = getattr(exc, "_ta_remote", None)
    if isinstance(remote, dict):  # raised in the solution: its own type, message and line
        info["error_type"] = str(remote.get("type"))[:200]
        info["message"] = remote.get("message") if isinstance(remote.get("message"), str) else None
        if isinstance(remote.get("line"), int):
            info.update(file="solution.py", line=remote["line"], line_text=str(remote.get("line_text") or ""))
        if isinstance(remote.get("traceback"), str):
            tb_lines.append(remote["traceback"])
    if isinstance(exc, _CompareFailed):
        info["error_type"] = "AssertionError"
        info["message"] = str(exc)[:1000] if exc.args[0] is not None else None
        info["actual"] = _short(exc.left)
        info["expected"] = _short(exc.right)
        info["comparison"] = exc.op
    elif isinstance(exc, _TruthFailed):
        info["error_type"] = "AssertionError"
        info["message"] = str(exc)[:1000] if exc.args[0] is not None else None
        info["actual"] = _short(exc.value)
        info["expected"] = "a false value" if exc.negated else "a true value"
    info["traceback"] = "\n".join(tb_lines[-8:])
    return info


def _run(action: Callable[[], Any], limit: float | None, files: set[str], cap: int) -> tuple[str, dict[str, Any], str]:
    """Run one unit (the solution's load, a case); returns (status, info, captured stdout)."""
    buf = CappedText(cap)
    real = sys.stdout
    sys.stdout = buf
    status: str = "passed"
    info: dict[str, Any] = {}
    if limit:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        action()
    except CaseTimeout:
        status, info = "timeout", {"error_type": "Timeout", "message": f"took longer than {limit} s"}
    except JailBusy:
        status = "timeout"
        info = {"error_type": "Timeout", "message": "the solution never returned from an earlier call that timed out"}
    except JailGone:
        status = "jail_died"
    except SystemExit as exc:
        status = "error"
        info = {"error_type": "SystemExit", "message": f"the code called exit({exc.code!r})"}
    except BaseException as exc:
        status = "failed" if isinstance(exc, AssertionError) else "memory" if isinstance(exc, MemoryError) else "error"
        info = _describe(exc, files)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout = real
    return status, info, buf.getvalue()


def _bind(ns: dict[str, Any], jail: Jail, names: dict[str, Any], entry: str | None) -> set[str]:
    """Put the solution's top-level names in the tests' namespace: functions and classes as
    proxies, modules imported here by their own name, data values fetched before each case that
    reads them. Never over a built-in's name (a solution's `abs` must not judge the tests)."""
    data: set[str] = set()
    for name, kind in names.items():
        if not (isinstance(name, str) and name.isidentifier()) or name in _RESERVED:
            continue
        if name != entry and (hasattr(builtins, name) or name.startswith("__")):
            continue
        if not isinstance(kind, list) or not kind:
            continue
        if kind[0] == "call":
            ns[name] = Remote(jail, name)
        elif kind[0] == "module" and len(kind) == 2 and kind[1] == name and name in _MODULES:
            with contextlib.suppress(Exception):
                ns[name] = importlib.import_module(name)
        elif kind[0] == "data":
            data.add(name)
    return data


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def evaluate(cfg: dict[str, Any], jail: Jail) -> list[dict[str, Any]]:
    """Load the solution in the jail, then run every case here; one record per step."""
    records: list[dict[str, Any]] = []
    cap = int(cfg.get("output_cap", 2000))
    files = {"solution.py"}
    signal.signal(signal.SIGALRM, _on_alarm)
    loaded: dict[str, Any] = {}
    start = time.perf_counter()

    def load() -> None:
        loaded["names"] = answer(jail, {"op": "load"})["names"]

    status, info, out = _run(load, cfg.get("load_time_limit_s"), files, cap)
    records.append({"load": status, "stdout": out, "ms": _ms(start), **info})
    names = loaded.get("names")
    if status != "passed" or not isinstance(names, dict):
        return records
    entry = cfg.get("entry_point")
    ns: dict[str, Any] = {"__name__": "__tests__", "__builtins__": builtins}
    data = _bind(ns, jail, names, entry)
    if entry:
        if not isinstance(ns.get(entry), Remote):
            records.append({"entry_point_missing": entry})
            return records
        ns["candidate"] = ns[entry]
    prelude = cfg.get("prelude")
    if prelude:  # the problem's own helpers, from its trusted text, over the solution's
        with contextlib.suppress(Exception):
            tree = ast.parse(prelude, "prompt")
            data -= _names(tree)[1]
            exec(compile(tree, "prompt", "exec"), ns)
        if entry:
            ns[entry] = ns["candidate"]
    for i, case in enumerate(cfg["cases"]):
        fname = f"case_{i}"
        files.add(fname)
        try:
            code, reads, binds = _compile_case(case["source"], fname)
        except SyntaxError as exc:
            records.append({"index": i, "status": "error", "error_type": "SyntaxError", "message": str(exc)})
            continue
        ns["_ta_compare"], ns["_ta_truth"] = _ta_compare, _ta_truth
        data -= binds  # a name the tests define is theirs from now on
        wanted = sorted(reads & data)

        def step(code: Any = code, wanted: list[str] = wanted) -> None:
            if wanted:  # the solution's data values, as they are now
                got = answer(jail, {"op": "get", "names": wanted})
                ns.update({k: v for k, v in got.items() if k in wanted})
            exec(code, ns)

        start = time.perf_counter()
        status, info, out = _run(step, case.get("time_limit_s"), files, cap)
        records.append({"index": i, "status": status, "stdout": out, "ms": _ms(start), **info})
        if status == "jail_died":
            break
    return records


def start(uid: int, gid: int) -> tuple[int, socket.socket]:
    """Fork the worker's evaluator, once; it serves every test run of the worker. Returns its
    pid and the worker's end of its control socket. The evaluator's fds: 0 the worker's input
    (a test run's config comes next there), 3 the worker's output (its one frame per run), 4 the
    control socket (a run's pipes to the jail come in on it; one byte goes back when done)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid:
        theirs.close()
        return pid, ours
    try:
        _jail.set_parent_death_signal(signal.SIGKILL)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (1, theirs.fileno())]
        for target, fd in zip((3, 4), high, strict=True):
            os.dup2(fd, target)
        os.closerange(5, 1 << 16)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        if null > 4:
            os.close(null)
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        _jail.set_dumpable(False)  # no ptrace, no /proc/PID/mem, even for the same uid
        _jail.set_no_new_privs()
        serve(socket.socket(fileno=4), out_fd=3)
    finally:
        os._exit(70)


def serve(control: socket.socket, out_fd: int) -> None:
    """One test run per message: the jail's pipes come with it; the config is read from fd 0."""
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 16, 2)
        except OSError:
            return
        if not msg or len(fds) != 2:
            return
        try:
            body = run_once(fds[0], fds[1])
        finally:
            for fd in fds:
                os.close(fd)
        write_frame({"evaluator": body}, out_fd)
        control.send(b"f" if body.get("fatal") else b"d")  # fatal: the worker's input is out of step


def run_once(calls_fd: int, replies_fd: int) -> dict[str, Any]:
    """Read one config frame from fd 0 and run it; the frame's body. A run leaves nothing behind
    for the next (its namespace, its alarm, the lines of its cases)."""
    try:
        cfg = read_frame()
        if not isinstance(cfg, dict):
            raise EOFError("the worker's input ended before the config")
    except BaseException as exc:
        return {"error": f"could not read the config: {exc!r}", "fatal": True}
    try:
        return {"records": evaluate(cfg, Jail(calls_fd, replies_fd, int(cfg.get("output_cap", 2000))))}
    except BaseException as exc:
        return {"error": f"the test evaluator failed: {exc!r}"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for name in [n for n in linecache.cache if isinstance(n, str) and n.startswith(("case_", "prompt"))]:
            linecache.cache.pop(name, None)
