"""Every solver end to end against the real local model with tiny budgets, and the `solve` and
`eval` commands. The small model rarely solves anything: these assert control flow and honest
verdicts, not success."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.agents.llm.client import LLMClient
from treeagent.cli.main import app
from treeagent.coding import SOLVERS, CodeSolution, asolve_code
from treeagent.environments.code import grade_hidden, load_humaneval
from treeagent.sandbox import ProcessSandbox

from .test_coding_solvers_cassette import CHECK, MARKER, PROMPT, _planted

pytestmark = [pytest.mark.llm, pytest.mark.asyncio(loop_scope="session")]

BUDGET = 3


async def test_every_solver_on_two_problems(live_llm: LLMClient, code_sandbox: ProcessSandbox) -> None:
    problems = [*load_humaneval(ids=["HumanEval/23"]), _planted()]
    runs = [(solver, problem) for solver in SOLVERS for problem in problems]
    solutions: list[CodeSolution] = await asyncio.gather(
        *(
            asolve_code(p, solver=s, budget_calls=BUDGET, concurrency=2, llm=live_llm, sandbox=code_sandbox)
            for s, p in runs
        )
    )
    for (solver, problem), solution in zip(runs, solutions, strict=True):
        stats = solution.result.stats
        where = f"{solver} on {problem.id}"
        assert 1 <= stats.llm_calls <= (1 if solver == "greedy" else BUDGET), where
        assert stats.tokens > 0, where
        faults = [n.error for n in solution.tree if n.error and n.error.startswith(("policy", "evaluator", "env"))]
        assert faults == [], where
        assert solution.hidden is not None
        # the verdict is the hidden tests' own: re-running them on the answer agrees
        again = await grade_hidden(code_sandbox, problem, solution.program)
        assert again is not None and again.passed == solution.passed, where
        if solution.result.stop_reason == "solved":
            assert solution.public_passed == solution.public_total > 0, where


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


async def test_solve_and_eval_commands(live_base_url: str, tmp_path: Path) -> None:
    code, out = await asyncio.to_thread(
        _invoke, ["solve", "23", "--solver", "greedy", "--budget-calls", "1", "--base-url", live_base_url, "--json"]
    )
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["id"] == "HumanEval/23" and summary["llm_calls"] == 1 and summary["solver"] == "greedy"
    assert "hidden tests" in out and "public tests" in out

    problems = tmp_path / "mine.jsonl"
    rows = [
        {"task_id": "mine/second", "prompt": PROMPT, "entry_point": "second_largest", "test": CHECK},
        {"task_id": "mine/double", "prompt": 'def double(x):\n    """Twice x."""\n', "entry_point": "double",
         "test": "def check(candidate):\n    assert candidate(2) == 4\n", "public_tests": ["assert double(1) == 2"]},
    ]  # fmt: skip
    problems.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    results = tmp_path / "results.jsonl"
    args = ["eval", str(problems), "--solver", "greedy", "--budget-calls", "1", "--out", str(results)]
    args += ["--base-url", live_base_url, "--json"]
    code, out = await asyncio.to_thread(_invoke, args)
    assert code == 0, out
    first = json.loads(out.strip().splitlines()[-1])
    assert first["problems"] == 2 and first["llm_calls"] == 2 and first["resumed"] == 0
    assert set(first) >= {"problems", "pass1", "llm_calls", "tokens", "wall_s"}
    lines = results.read_text().splitlines()
    assert len(lines) == 2 and MARKER not in results.read_text().replace(CHECK, "")
    assert first["pass1"] == sum(json.loads(line)["passed"] for line in lines) / 2

    code, out = await asyncio.to_thread(_invoke, args)  # a re-run skips both finished problems
    again = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and again["resumed"] == 2 and again["pass1"] == first["pass1"]
    assert results.read_text().splitlines() == lines

    other = [a if a != "1" else "2" for a in args]  # another budget must not mix into this file
    code, out = await asyncio.to_thread(_invoke, other)
    assert code == 2 and "another configuration" in out


async def test_a_prompt_over_the_context_is_retried_shorter(live_llm: LLMClient) -> None:
    from treeagent.agents.coding.context_fit import complete_fitting
    from treeagent.agents.coding.prompts import CodePrompts
    from treeagent.agents.llm.client import ContextLengthError, Sampling
    from treeagent.environments.code import CodeState

    [problem] = load_humaneval(ids=["HumanEval/23"])
    long_program = "def strlen(string):\n" + "    x = 1234567 + 7654321  # padding padding padding\n" * 400
    state = CodeState(program=long_program, loaded=True, total=2, feedback="0/2 tests passed.")
    prompts = CodePrompts(program_chars=len(long_program))
    sampling = Sampling(temperature=0.0, max_tokens=8)
    with pytest.raises(ContextLengthError):
        await live_llm.complete(prompts.revise_messages(problem.task(), state), sampling=sampling)
    completion = await complete_fitting(
        live_llm, lambda p: p.revise_messages(problem.task(), state), prompts, sampling=sampling, sink=None, tag="t"
    )
    assert completion.choices and completion.usage.prompt_tokens < 2048
