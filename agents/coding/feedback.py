"""Execution feedback in words, as RethinkMCTS feeds it back: for each failing public test, the
input, what the program returned, what was expected, and the line that raised."""

from __future__ import annotations

from treeagent.environments.code import CodeState, TestFailure


def verbalise_failure(failure: TestFailure) -> str:
    """One failing test as a sentence a model can act on."""
    test = failure.test.splitlines()[0] if failure.test else "the test"
    call = test.removeprefix("assert ").split(" == ", 1)[0].strip()
    if failure.test == "(loading the program)":
        where = f" at line {failure.line}: `{failure.line_text}`" if failure.line and failure.line_text else ""
        return f"The program does not even load: {failure.error or failure.status}{where}. Fix that first."
    if failure.status == "failed" and failure.expected is not None:
        return f"For `{call}` the program returned {failure.actual}, but the expected result is {failure.expected}."
    if failure.status == "timeout":
        return f"`{call}` did not finish in time: the program loops forever or is far too slow."
    if failure.status == "memory":
        return f"`{call}` ran out of memory."
    where = f" (at line {failure.line}: `{failure.line_text}`)" if failure.line and failure.line_text else ""
    error = failure.error or failure.status
    return f"`{call}` raised {error}{where}."


def verbal_feedback(state: CodeState, max_failures: int = 3) -> str:
    """All of a program's public-test feedback in words."""
    if state.program is None:
        return "No program has been written yet."
    if not state.failures:
        if state.total:
            return f"The program passes all {state.total} public tests."
        return "The program loads; there are no public tests, so nothing checks its results."
    lines = [f"The program passes {state.passed} of {state.total} public tests."] if state.total else []
    lines += [verbalise_failure(f) for f in state.failures[:max_failures]]
    if len(state.failures) > max_failures:
        lines.append(f"{len(state.failures) - max_failures} more tests fail.")
    return "\n".join(lines)
