"""Choosing the answer: probe inputs from the prompt, behaviour signatures from the sandbox, and
execution-agreement clustering behind the public tests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from treeagent.environments.code import CodeState, make_problem
from treeagent.environments.code.probes import behaviour, make_probes
from treeagent.environments.code.selection import best_index
from treeagent.sandbox import ProcessSandbox

PROMPT = '''def count_upper(text: str) -> int:
    """Count the upper-case letters in text.
    >>> count_upper("AbC")
    2
    """
'''


def state(signature: str | None, *, passed: int = 0, total: int = 0, errors: int = 0) -> CodeState:
    return CodeState(
        program="x", passed=passed, total=total, loaded=True, signature=signature, probe_errors=errors, probes=4
    )


def test_agreement_picks_the_majority_behaviour() -> None:
    states = [state("a"), state("b"), state("b"), state("c"), state("b")]
    assert best_index(states) == 1  # the first of the largest cluster


def test_public_tests_come_before_agreement() -> None:
    states = [state("a", passed=1, total=2), state("a", passed=1, total=2), state("b", passed=2, total=2)]
    assert best_index(states) == 2
    passing = [state("x", passed=2, total=2), state("y", passed=2, total=2), state("y", passed=2, total=2)]
    assert best_index(passing) == 1  # several pass: the larger cluster of passing programs


def test_a_behaviour_that_raises_everywhere_does_not_win_on_numbers() -> None:
    states = [state("ok"), state("crash", errors=4), state("crash", errors=4), state("crash", errors=4)]
    assert best_index(states) == 0


def test_a_behaviour_that_raises_on_fewer_probes_beats_a_larger_cluster() -> None:
    # three programs that crash alike on one probe agree for free; the lone clean one wins
    states = [state("crash", errors=1), state("crash", errors=1), state("crash", errors=1), state("clean")]
    assert best_index(states) == 3
    # among equally clean behaviours, agreement still decides
    assert best_index([state("a"), state("b"), state("b"), state("crash", errors=1)]) == 1
    # public tests still come first
    assert best_index([state("clean", passed=1, total=2), state("crash", errors=2, passed=2, total=2)]) == 1


def test_ties_go_to_the_earliest_candidate_and_unloaded_lose() -> None:
    assert best_index([state("a"), state("b")]) == 0
    broken = replace(state(None), loaded=False)
    assert best_index([broken, state("z")]) == 1
    assert best_index([]) is None


def test_probes_come_from_the_examples_and_the_type_hints() -> None:
    problem = make_problem("p", PROMPT)
    probes = make_probes(problem.prompt, problem.entry_point, problem.public_tests)
    assert probes[0] == ("AbC",)  # the docstring example's own call first
    assert len(probes) >= 6 and len(set(probes)) == len(probes)
    assert all(len(p) == 1 and isinstance(p[0], str) for p in probes)
    assert make_probes(problem.prompt, problem.entry_point, problem.public_tests) == probes  # deterministic


@pytest.mark.asyncio(loop_scope="session")
async def test_signatures_tell_behaviours_apart(code_sandbox: ProcessSandbox) -> None:
    probes = make_probes(PROMPT, "count_upper")
    right = PROMPT + "    return sum(1 for c in text if c.isupper())\n"
    same = PROMPT + "    n = 0\n    for c in text:\n        n += c.isupper()\n    return n\n"
    wrong = PROMPT + "    return sum(1 for c in text if c.islower())\n"
    crash = PROMPT + "    return text[99]\n"
    a, b, c, d = [await behaviour(code_sandbox, p, "count_upper", probes) for p in (right, same, wrong, crash)]
    assert a is not None and b is not None and c is not None and d is not None
    assert a.signature == b.signature != c.signature
    assert a.errors == 0 and d.errors == len(probes) and d.signature != a.signature
    unloadable = await behaviour(code_sandbox, "def count_upper(:\n", "count_upper", probes)
    assert unloadable is not None and unloadable.errors == len(probes)
    assert await behaviour(code_sandbox, right, "count_upper", []) is None


@pytest.mark.asyncio(loop_scope="session")
async def test_a_hanging_probe_is_an_error_not_a_hang(code_sandbox: ProcessSandbox) -> None:
    probes = make_probes(PROMPT, "count_upper")
    hang = PROMPT + "    while text:\n        pass\n    return 0\n"
    result = await behaviour(code_sandbox, hang, "count_upper", probes, probe_time_s=0.2)
    assert result is not None and result.errors >= len([p for p in probes if p[0]])
