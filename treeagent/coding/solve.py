"""`solve_code`: one programming problem, one solver, one budget; the answer is the best candidate
by public tests, and only that answer is run on the hidden tests, after the search has ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.coding.solvers import DEFAULT_SOLVER, build_solver
from treeagent.environments.code import (
    CodeEnv,
    CodeProblem,
    CodeState,
    HiddenVerdict,
    candidate_view,
    grade_hidden,
    problem_from_call,
)
from treeagent.environments.code.selection import best_index
from treeagent.sandbox import ProcessSandbox
from treeagent.sandbox.testing import SandboxLike
from treeagent.search import Controller, Node, SearchResult, Tree
from treeagent.search.events import Listener


@dataclass
class CodeSolution:
    """What `solve_code` returns.

    program: the chosen candidate as it runs (None when no candidate was written).
    public_passed / public_total: the chosen candidate on the public tests.
    hidden: its verdict on the hidden tests (None when the problem has none).
    result: the search itself: the tree, the stats, the stop reason.
    """

    problem: CodeProblem
    solver: str
    program: str | None
    node: Node | None
    public_passed: int
    public_total: int
    hidden: HiddenVerdict | None
    result: SearchResult

    @property
    def passed(self) -> bool:
        """Passed the hidden tests (False when there are none to pass)."""
        return self.hidden is not None and self.hidden.passed

    @property
    def solution(self) -> str | None:
        """The candidate without the prompt helpers the runner re-appends."""
        if self.program is None:
            return None
        return candidate_view(self.program, self.problem.prompt, self.problem.entry_point)

    @property
    def tree(self) -> Tree:
        return self.result.tree

    def summary(self) -> dict[str, Any]:
        stats = self.result.stats
        return {
            "id": self.problem.id,
            "solver": self.solver,
            "passed": self.passed,
            "hidden_passed": self.hidden.passed_tests if self.hidden else None,
            "hidden_total": self.hidden.total if self.hidden else None,
            "public_passed": self.public_passed,
            "public_total": self.public_total,
            "public_source": self.problem.public_source,
            "stop_reason": self.result.stop_reason,
            "llm_calls": stats.llm_calls,
            "tokens": stats.tokens,
            "programs": sum(1 for _ in program_nodes(self.result.tree)),
            "nodes": len(self.result.tree),
            "wall_s": round(stats.wall_seconds, 3),
        }


def program_nodes(tree: Tree) -> list[Node]:
    """Nodes holding a tested program."""
    out = []
    for node in tree:
        step = node.step
        if step is None or node.failed or node.parent is None or not isinstance(step.state, CodeState):
            continue
        if step.state.program is not None and node.action is not None and node.action.kind == "program":
            out.append(node)
    return out


def select_answer(tree: Tree) -> Node | None:
    """The best candidate: public tests first, then fewest probe inputs raised on, then execution
    agreement on the probe inputs, then the node's value (self-evaluation where the solver has
    one), then the earliest written (see `environments/code/selection.py`)."""
    nodes = sorted(program_nodes(tree), key=lambda n: n.id)
    states: list[CodeState] = [n.step.state for n in nodes]  # type: ignore[union-attr]
    values = [n.value if n.value is not None else n.mean_value for n in nodes]
    index = best_index(states, values)
    return None if index is None else nodes[index]


async def asolve_code(
    problem: CodeProblem | str,
    *,
    tests: Sequence[str] = (),
    hidden_tests: Sequence[str] = (),
    entry_point: str | None = None,
    solver: str = DEFAULT_SOLVER,
    budget_calls: int = 16,
    width: int | None = None,
    concurrency: int = 4,
    seed: int = 0,
    early_stop: bool = True,
    max_seconds: float | None = None,
    trace: str | os.PathLike[str] | None = None,
    llm: LLMClient | None = None,
    base_url: str | None = None,
    sandbox: SandboxLike | None = None,
    on_start: Callable[[Controller], None] | None = None,
    listener: Listener | None = None,
) -> CodeSolution:
    """Solve one problem: a `CodeProblem`, or a prompt (a signature with its docstring) with public
    `tests` (default: its docstring examples) and optional `hidden_tests` for the verdict.

    Without `llm`, it connects to `base_url` / the configured endpoint, or starts the embedded
    model. Without `sandbox`, it starts a process sandbox for the call. `on_start` gets the
    controller before it runs; `listener` gets the search's events (search/events.py).
    """
    if not isinstance(problem, CodeProblem):
        problem = problem_from_call(problem, tests, entry_point=entry_point, hidden_tests=hidden_tests)
    async with contextlib.AsyncExitStack() as stack:
        if llm is None:
            from treeagent.agents.llm.vllm_server import serve_or_connect

            server = await stack.enter_async_context(serve_or_connect(base_url))
            llm = await stack.enter_async_context(LLMClient(LLMConfig.load(base_urls=server.base_url)))
        if sandbox is None:
            sandbox = await stack.enter_async_context(ProcessSandbox(workers=2))
        setup = build_solver(
            solver,
            llm,
            budget_calls=budget_calls,
            width=width,
            concurrency=concurrency,
            seed=seed,
            trace=Path(trace) if trace is not None else None,
            max_seconds=max_seconds,
        )
        if on_start is not None:
            on_start(setup.controller)
        env = CodeEnv(sandbox, stop_on_pass=early_stop)
        try:
            result = await setup.controller.run(env, problem.task(), listener=listener)
        finally:
            await env.close()
        node = select_answer(result.tree)
        state: CodeState | None = node.step.state if node is not None and node.step is not None else None
        program = state.program if state is not None else None
        # The only place hidden tests are run: after the search, on the chosen answer.
        verdict = await grade_hidden(sandbox, problem, program)
        return CodeSolution(
            problem=problem,
            solver=solver,
            program=program,
            node=node,
            public_passed=state.passed if state else 0,
            public_total=state.total if state else len(problem.public_tests),
            hidden=verdict,
            result=result,
        )


def solve_code(problem: CodeProblem | str, **kwargs: Any) -> CodeSolution:
    """The synchronous form of `asolve_code` (for scripts; inside an event loop, await
    `asolve_code`)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(asolve_code(problem, **kwargs))
    raise RuntimeError("solve_code was called inside a running event loop: use `await asolve_code(...)` there")
