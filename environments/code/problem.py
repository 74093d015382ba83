"""A programming problem: what the agent may see, and the hidden tests it may never see.

`CodeProblem` holds both. `CodeProblem.task()` is the only thing handed to a search, and it carries
the public part alone (prompt, entry point, public tests): the hidden tests stay in the problem
object, which only the final judge (`judge.grade_hidden`) reads. Traces, prompts and evaluators are
built from the task, so nothing downstream of the search can reach the hidden tests.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from treeagent.environments.base import Task


class ProblemError(ValueError):
    """A problem that cannot be used: the message names the problem, the field and the fix."""


class HiddenTests(BaseModel):
    """The tests of the final verdict: a HumanEval-style `def check(candidate)` program, or a list
    of assert statements that call the entry point (by name or as `candidate`)."""

    model_config = ConfigDict(frozen=True)

    check: str | None = None
    asserts: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.check is None and not self.asserts


class CodeProblem(BaseModel):
    """One problem. Construct it with `make_problem` (it validates and fills the public tests)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    entry_point: str = Field(min_length=1)
    public_tests: tuple[str, ...] = ()
    #: where the public tests came from: "docstring", "given" (the user's), or "none"
    public_source: str = "docstring"
    _hidden: HiddenTests = PrivateAttr(default_factory=HiddenTests)

    @model_validator(mode="after")
    def _check(self) -> CodeProblem:
        try:
            tree = ast.parse(self.prompt)
        except SyntaxError as exc:
            raise ProblemError(
                f"problem {self.id!r}: the prompt is not valid Python ({exc.msg}, line {exc.lineno}); "
                "it must be a function signature with its docstring"
            ) from None
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if self.entry_point not in names:
            raise ProblemError(
                f"problem {self.id!r}: the prompt defines no function {self.entry_point!r} (the entry point); "
                f"it defines: {', '.join(sorted(names)) or 'no function'}"
            )
        for i, test in enumerate(self.public_tests):
            _check_statement(self.id, f"public test {i + 1}", test)
        return self

    @property
    def hidden(self) -> HiddenTests:
        """The hidden tests: for the final judge only, never for a search."""
        return self._hidden

    def task(self) -> Task:
        """The search's view of the problem: prompt, entry point and public tests only."""
        return Task(
            id=self.id,
            prompt=self.prompt,
            data={"entry_point": self.entry_point, "public_tests": list(self.public_tests)},
        )


def _check_statement(problem_id: str, what: str, source: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise ProblemError(
            f"problem {problem_id!r}: {what} does not parse as Python ({exc.msg}): {source.strip()[:120]!r}"
        ) from None


def make_problem(
    id: str,
    prompt: str,
    entry_point: str | None = None,
    *,
    public_tests: list[str] | tuple[str, ...] | None = None,
    hidden_check: str | None = None,
    hidden_asserts: list[str] | tuple[str, ...] | None = None,
) -> CodeProblem:
    """A validated problem. Public tests default to the prompt's docstring examples; the entry
    point defaults to the last function the prompt defines."""
    from treeagent.environments.code.examples import docstring_tests

    entry = entry_point or _last_function(id, prompt)
    if public_tests is None:
        tests = tuple(docstring_tests(prompt, entry))
        source = "docstring" if tests else "none"
    else:
        if isinstance(public_tests, str) or not all(isinstance(t, str) for t in public_tests):
            raise ProblemError(f"problem {id!r}: public_tests must be a list of assert strings")
        tests, source = tuple(public_tests), "given"
    hidden = HiddenTests(check=hidden_check, asserts=tuple(hidden_asserts or ()))
    if hidden.check is not None:
        _check_statement(id, "the hidden test program", hidden.check)
        if "def check(" not in hidden.check:
            raise ProblemError(f"problem {id!r}: the hidden test program defines no `def check(candidate):`")
    for i, test in enumerate(hidden.asserts):
        _check_statement(id, f"hidden test {i + 1}", test)
    try:
        problem = CodeProblem(id=id, prompt=prompt, entry_point=entry, public_tests=tests, public_source=source)
    except ProblemError:
        raise
    except ValueError as exc:  # pydantic's own (empty id or prompt)
        raise ProblemError(f"problem {id!r}: {_first_error(exc)}") from None
    problem._hidden = hidden
    return problem


def _last_function(problem_id: str, prompt: str) -> str:
    try:
        tree = ast.parse(prompt)
    except SyntaxError as exc:
        raise ProblemError(f"problem {problem_id!r}: the prompt is not valid Python ({exc.msg})") from None
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not functions:
        raise ProblemError(f"problem {problem_id!r}: the prompt defines no function; give a signature and docstring")
    return functions[-1]


def _first_error(exc: Any) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(exc)
