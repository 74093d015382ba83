"""`treeagent solve`'s progress line is drawn from the search's events (recorded replies of the
embedded model; no server): its counts end equal to the search's own."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.progress import Progress

from treeagent.cli.solve import _SolveProgress
from treeagent.coding import asolve_code
from treeagent.sandbox import ProcessSandbox

from .conftest import MakeLLM
from .test_coding_solvers_cassette import BUDGET, _planted

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_solve_progress_counts_what_the_search_spent(cassette_llm: MakeLLM, code_sandbox: ProcessSandbox) -> None:
    problem = _planted()
    with Progress(console=Console(quiet=True)) as progress:
        bar = progress.add_task("solve", total=BUDGET, info="")
        drawn = _SolveProgress(progress, bar, len(problem.public_tests))
        solution = await asolve_code(
            problem,
            solver="best_of_n",
            budget_calls=BUDGET,
            width=2,
            concurrency=1,
            llm=cassette_llm("planted_best_of_n"),
            sandbox=code_sandbox,
            listener=drawn,
        )
        shown = progress.tasks[0]
    tree = solution.result.tree
    assert drawn.stats.llm_calls == solution.result.stats.llm_calls > 0
    assert drawn.nodes == len(tree) > 1
    assert drawn.best == max(n.step.state.passed for n in tree if n.step is not None)
    assert drawn.info().startswith(f"{drawn.stats.llm_calls} LLM calls · {len(tree) - 1} nodes · best ")
    assert shown.fields["info"] and 0 < shown.completed <= drawn.stats.llm_calls  # drawn at most 10 times a second
