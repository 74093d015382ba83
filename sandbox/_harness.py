"""The Python test harness, run INSIDE the sandbox as the run's snippet. Standard library only.

It loads solution.py, then runs each case of cases.json in order in one namespace (setup steps
too), each with its own alarm-based time limit and captured output, and writes one marked JSON
line per case to the real stdout as soon as it is done, so a run that dies still reports what
finished. Asserts are rewritten so a failing `assert a == b` reports both sides.
"""

from __future__ import annotations

import ast
import io
import json
import linecache
import os
import signal
import sys
import time
import traceback
from typing import Any

_CFG = json.loads(open("cases.json", encoding="utf-8").read())  # noqa: SIM115
_MARK = _CFG["marker"]
_OUT = sys.stdout
_CAP = int(_CFG.get("output_cap", 2000))
_REPR_CAP = 300


class _CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so `except Exception` in user code does not eat it."""


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


def _ta_compare(op: str, left: Any, right: Any, message: Any) -> None:
    ops: dict[str, Any] = {
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
    if not ops[op](left, right):
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


def _compile_case(source: str, filename: str) -> Any:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    tree = ast.fix_missing_locations(_Rewriter().visit(tree))
    return compile(tree, filename, "exec")


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CaseTimeout()


class _CappedIO(io.StringIO):
    def write(self, s: str) -> int:
        room = _CAP - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


def _where(exc: BaseException, files: set[str]) -> tuple[str | None, int | None, str | None]:
    """The deepest frame in the solution or a case: (file, line number, line text)."""
    found: tuple[str | None, int | None, str | None] = (None, None, None)
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename in files:
            found = (fs.filename, fs.lineno, (fs.line or "").strip())
    return found


def _describe(exc: BaseException, files: set[str]) -> dict[str, Any]:
    fname, lineno, text = _where(exc, files)
    info: dict[str, Any] = {
        "error_type": type(exc).__name__,
        "message": str(exc)[:1000] or None,
        "file": fname,
        "line": lineno,
        "line_text": text,
        "expected": None,
        "actual": None,
    }
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
    tb_lines = [
        f'  File "{fs.filename}", line {fs.lineno}, in {fs.name}\n    {(fs.line or "").strip()}'
        for fs in traceback.extract_tb(exc.__traceback__)
        if fs.filename in files
    ]
    info["traceback"] = "\n".join(tb_lines[-8:])
    return info


def _emit(record: dict[str, Any]) -> None:
    _OUT.write(_MARK + json.dumps(record) + "\n")
    _OUT.flush()


def _run(code: Any, ns: dict[str, Any], limit: float | None, files: set[str]) -> tuple[str, dict[str, Any], str, float]:
    """Run one compiled unit; returns (status, info, stdout, ms)."""
    buf = _CappedIO()
    sys.stdout = buf
    start = time.perf_counter()
    status: str = "passed"
    info: dict[str, Any] = {}
    if limit:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        exec(code, ns)
    except _CaseTimeout:
        status, info = "timeout", {"error_type": "Timeout", "message": f"took longer than {limit} s"}
    except SystemExit as exc:
        status = "error"
        info = {"error_type": "SystemExit", "message": f"the code called exit({exc.code!r})"}
    except BaseException as exc:
        status = "failed" if isinstance(exc, AssertionError) else "memory" if isinstance(exc, MemoryError) else "error"
        info = _describe(exc, files)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout = _OUT
    return status, info, buf.getvalue(), round((time.perf_counter() - start) * 1000, 3)


def main() -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    solution = open("solution.py", encoding="utf-8").read()  # noqa: SIM115
    files = {"solution.py"}
    ns = {"__name__": "solution", "_ta_compare": _ta_compare, "_ta_truth": _ta_truth}
    try:
        code = compile(solution, "solution.py", "exec")
    except BaseException as exc:
        info: dict[str, Any] = {"error_type": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, SyntaxError):
            info.update(file="solution.py", line=exc.lineno, line_text=(exc.text or "").strip())
        _emit({"load": "error", **info})
        return
    status, info, out, ms = _run(code, ns, _CFG.get("load_time_limit_s"), files)
    _emit({"load": status, "stdout": out, "ms": ms, **info})
    if status != "passed":
        return
    entry = _CFG.get("entry_point")
    if entry:
        if entry not in ns:
            _emit({"entry_point_missing": entry})
            return
        ns["candidate"] = ns[entry]
    for i, case in enumerate(_CFG["cases"]):
        fname = f"case_{i}"
        files.add(fname)
        _OUT.write(f"{_MARK}{json.dumps({'start': i})}\n")
        _OUT.flush()
        try:
            code = _compile_case(case["source"], fname)
        except SyntaxError as exc:
            _emit({"index": i, "status": "error", "error_type": "SyntaxError", "message": str(exc)})
            continue
        ns["_ta_compare"], ns["_ta_truth"] = _ta_compare, _ta_truth  # whatever the solution defined
        status, info, out, ms = _run(code, ns, case.get("time_limit_s"), files)
        _emit({"index": i, "status": status, "stdout": out, "ms": ms, **info})
    sys.stdout.flush()
    os._exit(0)


main()
