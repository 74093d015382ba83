"""Solve one programming problem by tree search: `treeagent.solve_code`, one call.

    TREEAGENT_BASE_URL=http://127.0.0.1:8765/v1 python examples/coding_solve.py [SOLVER] [LLM_CALLS]

The docstring's examples are the public tests the search sees; the hidden tests judge only the
answer it picks. With no endpoint configured, the embedded model is started for the call.
"""

from __future__ import annotations

import sys

import treeagent

PROMPT = '''def running_max(xs: list[int]) -> list[int]:
    """Return the running maximum of xs: element i is the largest of xs[0..i].
    >>> running_max([1, 3, 2, 5])
    [1, 3, 3, 5]
    >>> running_max([])
    []
    """
'''
HIDDEN_TESTS = ["assert running_max([2, 1]) == [2, 2]", "assert running_max([-1, -3, 0, -5]) == [-1, -1, 0, 0]"]


def main(solver: str = "best_of_n", budget_calls: int = 4) -> treeagent.CodeSolution:
    solution = treeagent.solve_code(PROMPT, hidden_tests=HIDDEN_TESTS, solver=solver, budget_calls=budget_calls)
    stats = solution.result.stats
    print(solution.solution or "(no program written)")
    print(f"public tests {solution.public_passed}/{solution.public_total}; hidden tests: {solution.hidden}")
    print(f"{solver}: {stats.llm_calls} LLM calls, {stats.tokens} tokens, {len(solution.tree)} nodes")
    return solution


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["best_of_n"]), *[int(a) for a in sys.argv[2:3]])
