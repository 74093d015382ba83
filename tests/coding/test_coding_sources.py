"""Problem sources: a user's JSONL file, a Python call, HumanEval ids; clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from treeagent.environments.code import (
    ProblemError,
    load_jsonl,
    load_problems,
    problem_from_call,
    resolve_problem,
)

BASE = {"task_id": "a", "entry_point": "double"}
PROMPT = 'def double(x):\n    """Twice x.\n    >>> double(2)\n    4\n    """\n'
CHECK = "def check(candidate):\n    assert candidate(3) == 6\n    assert candidate(0) == 0\n"


def _write(tmp_path: Path, rows: list[object], name: str = "p.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_problem_public_from_docstring_hidden_from_test(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"task_id": "d/1", "prompt": PROMPT, "entry_point": "double", "test": CHECK}])
    [problem] = load_jsonl(path)
    assert problem.public_tests == ("assert double(2) == 4",)
    assert problem.public_source == "docstring"
    assert problem.hidden.check == CHECK
    task = problem.task()
    assert "candidate(3)" not in json.dumps(task.model_dump(mode="json"))
    assert "candidate(3)" not in json.dumps(problem.model_dump(mode="json"))


def test_public_tests_field_overrides_docstring(tmp_path: Path) -> None:
    row = {"task_id": "d", "prompt": PROMPT, "entry_point": "double", "test": CHECK}
    row["public_tests"] = ["assert double(5) == 10"]
    [problem] = load_jsonl(_write(tmp_path, [row]))
    assert problem.public_tests == ("assert double(5) == 10",)
    assert problem.public_source == "given"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "p.jsonl:1: not a JSON object"),
        ({"task_id": "a", "prompt": PROMPT}, "missing or empty field(s) entry_point"),
        ({"task_id": "a", "prompt": PROMPT, "entry_point": "triple"}, "defines no function 'triple'"),
        ({"task_id": "a", "prompt": "def f(:\n", "entry_point": "f"}, "not valid Python"),
        ({**BASE, "prompt": PROMPT, "test": "def check(c):\n  assert ("}, "does not parse"),
        ({"task_id": "a", "prompt": PROMPT, "entry_point": "double", "test": "assert double(1) == 2"}, "def check"),
        ({"task_id": "a", "prompt": PROMPT, "entry_point": "double", "public_tests": "assert x"}, "list of assert"),
        ({**BASE, "prompt": PROMPT, "public_tests": ["assert double(1 =="]}, "public test 1"),
    ],
)
def test_malformed_lines_name_the_problem(tmp_path: Path, row: object, message: str) -> None:
    with pytest.raises(ProblemError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_jsonl(_write(tmp_path, [row]))


def test_duplicate_ids_and_empty_or_missing_files(tmp_path: Path) -> None:
    row = {"task_id": "a", "prompt": PROMPT, "entry_point": "double"}
    with pytest.raises(ProblemError, match="appears twice"):
        load_jsonl(_write(tmp_path, [row, row]))
    with pytest.raises(ProblemError, match="holds no problems"):
        load_jsonl(_write(tmp_path, [""], "empty.jsonl"))
    with pytest.raises(ProblemError, match="no problem file"):
        load_problems(str(tmp_path / "nope.jsonl"))


def test_python_call_and_humaneval_ids() -> None:
    problem = problem_from_call(PROMPT, ["assert double(1) == 2"], hidden_tests=["assert double(7) == 14"])
    assert problem.entry_point == "double"
    assert problem.public_tests == ("assert double(1) == 2",)
    assert problem.hidden.asserts == ("assert double(7) == 14",)
    assert problem_from_call(PROMPT).public_tests == ("assert double(2) == 4",)
    with pytest.raises(ProblemError, match="defines no function"):
        problem_from_call("x = 1\n")
    with pytest.raises(ProblemError, match="hidden_tests must be a list of assert statements, not one string"):
        problem_from_call(PROMPT, hidden_tests="assert double(7) == 14")
    with pytest.raises(ProblemError, match="tests must be a list"):
        problem_from_call(PROMPT, "assert double(1) == 2")
    assert resolve_problem("7").id == "HumanEval/7"
    assert resolve_problem("HumanEval/163").entry_point == "generate_integers"
    with pytest.raises(ProblemError, match="unknown problem id"):
        resolve_problem("HumanEval/999")
    assert [p.id for p in load_problems("humaneval", limit=3)] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]


def test_one_problem_of_a_file(tmp_path: Path) -> None:
    rows = [{"task_id": t, "prompt": PROMPT, "entry_point": "double"} for t in ("a", "b")]
    path = _write(tmp_path, rows)
    with pytest.raises(ProblemError, match="pick one"):
        resolve_problem(str(path))
    assert resolve_problem(f"{path}#b").id == "b"
