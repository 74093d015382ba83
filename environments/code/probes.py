"""Probe inputs and behaviour signatures: how candidates are told apart without hidden tests.

Execution agreement (CodeT, MBR-exec, AlphaCode's clustering) needs inputs to run candidates on,
and no model is needed to make them: the docstring examples give calls that are valid by
construction, small changes of their arguments give more, and the signature's type hints give
fresh values of the right shape. Each candidate is run on the same probes in the sandbox; the
tuple of what it returned (or which exception it raised) on each probe is its behaviour
signature. Candidates with equal signatures form a cluster.

The probes come from the prompt alone (the task's public part), so the hidden tests never reach
them. The outputs are for choosing among candidates, never a verdict: a candidate that lies about
its own outputs can only make itself look different from the others.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from treeagent.sandbox import RunRequest
from treeagent.sandbox.testing import SandboxLike

#: the most probes made per problem (each candidate runs all of them in one sandbox run)
MAX_PROBES = 12


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a candidate did on the probes: a signature (equal signatures = same behaviour) and
    how many probes raised or timed out."""

    signature: str
    errors: int
    probes: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.probes if self.probes else 0.0


def _annotations(prompt: str, entry_point: str) -> list[ast.expr | None] | None:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            params = [*node.args.posonlyargs, *node.args.args]
            return [p.annotation for p in params]
    return None


def _example_args(tests: Sequence[str], entry_point: str) -> list[tuple[Any, ...]]:
    """The literal positional arguments of `entry_point(...)` calls in the public tests."""
    found: list[tuple[Any, ...]] = []
    for test in tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point:
                if node.keywords:
                    continue
                try:
                    found.append(tuple(ast.literal_eval(a) for a in node.args))
                except (ValueError, SyntaxError, TypeError):
                    continue
    return found


def _type_name(annotation: ast.expr | None) -> str:
    return "" if annotation is None else ast.unparse(annotation).replace("typing.", "")


def _value_for(kind: str, rng: random.Random, depth: int = 0) -> Any:
    """A small random value of the annotated type (an unknown type gives None: no probe)."""
    kind = kind.replace(" ", "")
    lowered = kind.lower()
    if lowered.startswith("optional[") and kind.endswith("]"):
        return _value_for(kind[9:-1], rng, depth)
    if lowered == "int":
        return rng.choice([0, 1, 2, 3, 5, 7, 10, 12, -1, -3, 25, 100])
    if lowered == "float":
        return rng.choice([0.0, 1.5, 2.0, -0.5, 3.25, 10.0])
    if lowered == "bool":
        return rng.choice([True, False])
    if lowered == "str":
        return rng.choice(["", "a", "abc", "Hello", "hello world", "aabbcc", "racecar", "Python 3", "x y z", "AbCd"])
    if depth > 1:
        return None
    for prefix in ("list[", "List[", "Sequence[", "Iterable["):
        if kind.startswith(prefix) and kind.endswith("]"):
            inner = kind[len(prefix) : -1]
            size = rng.choice([0, 1, 2, 3, 4, 5, 6])
            items = [_value_for(inner, rng, depth + 1) for _ in range(size)]
            return None if any(i is None for i in items) else items
    for prefix in ("tuple[", "Tuple["):
        if kind.startswith(prefix) and kind.endswith("]"):
            parts = _split_args(kind[len(prefix) : -1])
            if len(parts) == 2 and parts[1] == "...":
                items = [_value_for(parts[0], rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3]))]
            else:
                items = [_value_for(p, rng, depth + 1) for p in parts]
            return None if any(i is None for i in items) else tuple(items)
    for prefix in ("dict[", "Dict["):
        if kind.startswith(prefix) and kind.endswith("]"):
            parts = _split_args(kind[len(prefix) : -1])
            if len(parts) != 2:
                return None
            pairs = [(_value_for(parts[0], rng, depth + 1), _value_for(parts[1], rng, depth + 1)) for _ in range(3)]
            if any(k is None or v is None for k, v in pairs):
                return None
            return dict(pairs)
    return None


def _split_args(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _mutate(value: Any, rng: random.Random) -> Any:
    """A nearby value of the same type: a changed number, a shorter or reordered sequence."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2, 5])
    if isinstance(value, float):
        return round(value * rng.choice([0.5, 2.0, -1.0]) + rng.choice([0.0, 0.25]), 4)
    if isinstance(value, str):
        if not value:
            return "ab"
        choice = rng.randrange(3)
        if choice == 0:
            return value[::-1]
        if choice == 1:
            return value[: max(0, len(value) - 1)]
        return value + value[0]
    if isinstance(value, list):
        if not value:
            return value
        copy = list(value)
        choice = rng.randrange(3)
        if choice == 0:
            rng.shuffle(copy)
        elif choice == 1:
            copy = copy[:-1]
        else:
            copy.append(_mutate(copy[0], rng))
        return copy
    if isinstance(value, tuple):
        return tuple(_mutate(list(value), rng)) if len(value) > 2 else tuple(_mutate(v, rng) for v in value)
    return value


def make_probes(
    prompt: str, entry_point: str, public_tests: Sequence[str] = (), *, limit: int = MAX_PROBES, seed: int = 0
) -> list[tuple[Any, ...]]:
    """Up to `limit` argument tuples for `entry_point`: the public tests' own calls, mutations of
    them, and values drawn from the type hints. Deterministic for a given prompt and seed."""
    rng = random.Random(f"{seed}:{entry_point}:{len(prompt)}")
    examples = _example_args(public_tests, entry_point)
    annotations = _annotations(prompt, entry_point) or []
    arity = len(annotations) if annotations else (len(examples[0]) if examples else 0)
    probes: list[tuple[Any, ...]] = []
    seen: set[str] = set()

    def add(args: tuple[Any, ...]) -> None:
        key = repr(args)
        if len(args) == arity and key not in seen and len(key) < 2000:
            seen.add(key)
            probes.append(args)

    for args in examples:
        add(args)
    for args in list(examples):
        for _ in range(2):
            add(tuple(_mutate(a, rng) for a in args))
    kinds = [_type_name(a) for a in annotations]
    for _ in range(limit * 3):
        if len(probes) >= limit or not kinds:
            break
        values = [_value_for(k, rng) for k in kinds]
        if any(v is None for v in values):
            break
        add(tuple(values))
    return probes[:limit]


_RUNNER = """
import json, signal, sys
def _limit(signum, frame):
    raise TimeoutError("probe time limit")
signal.signal(signal.SIGALRM, _limit)
_out = []
try:
    exec(compile(open("solution.py").read(), "solution.py", "exec"), _ns := {"__name__": "solution"})
    _fn = _ns[%(entry)r]
except BaseException as exc:
    print(%(marker)r + json.dumps({"load": type(exc).__name__}), flush=True)
    raise SystemExit(0)
for _args in eval(open("probes.py").read()):
    signal.setitimer(signal.ITIMER_REAL, %(limit)r)
    try:
        _value = _fn(*_args)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _out.append(["ok", repr(_value)[:400]])
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _out.append(["raise", type(exc).__name__])
print(%(marker)r + json.dumps({"out": _out}), flush=True)
"""


def _literal(args: tuple[Any, ...]) -> str:
    """The probes travel as Python literals, not JSON: tuples and sets survive the trip."""
    return repr(list(args))


async def behaviour(
    sandbox: SandboxLike,
    program: str,
    entry_point: str,
    probes: Sequence[tuple[Any, ...]],
    *,
    probe_time_s: float = 0.5,
    memory_limit_mb: int = 512,
) -> Behaviour | None:
    """Run `program` on every probe in one sandbox run; None when there are no probes or the run
    produced no readable result (a crash or a timeout of the whole run counts as one behaviour)."""
    if not probes:
        return None
    marker = f"@@probe-{secrets.token_hex(8)}@@"
    runner = _RUNNER % {"entry": entry_point, "marker": marker, "limit": probe_time_s}
    request = RunRequest(
        code=runner,
        files={"solution.py": program, "probes.py": "[" + ", ".join(_literal(p) for p in probes) + "]"},
        time_limit_s=probe_time_s * len(probes) + 2.0,
        memory_limit_mb=memory_limit_mb,
    )
    result = await sandbox.run(request)
    payload = None
    for line in reversed((result.stdout or "").splitlines()):
        if line.startswith(marker):
            try:
                payload = json.loads(line[len(marker) :])
            except ValueError:
                payload = None
            break
    if payload is None:
        outcome = ["run", str(result.verdict)]
        return Behaviour(_digest(outcome), len(probes), len(probes))
    if "load" in payload:
        return Behaviour(_digest(["load", payload["load"]]), len(probes), len(probes))
    outputs = payload.get("out", [])
    errors = sum(1 for kind, _ in outputs if kind != "ok") + max(0, len(probes) - len(outputs))
    return Behaviour(_digest(outputs), errors, len(probes))


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
