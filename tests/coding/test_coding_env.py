"""The code environment on the real sandbox: feedback, assembly with the prompt, plans, verdicts."""

from __future__ import annotations

import pytest

from treeagent.environments.code import CodeAction, CodeEnv, grade_hidden, load_humaneval, problem_from_call
from treeagent.sandbox import ProcessSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROMPT = 'def double(x):\n    """Twice x.\n    >>> double(2)\n    4\n    >>> double(0)\n    0\n    """\n'


async def test_feedback_of_right_wrong_and_broken_programs(code_sandbox: ProcessSandbox) -> None:
    problem = problem_from_call(PROMPT, hidden_tests=["assert double(21) == 42"])
    env = CodeEnv(code_sandbox)
    root = await env.reset(problem.task())
    assert root.state.program is None and not root.terminal

    good = await env.step(root.state, CodeAction(text="def double(x):\n    return 2 * x\n"))
    assert good.terminal and good.solved and good.state.passed == 2 and good.reward == 1.0

    wrong = await env.step(root.state, CodeAction(text="def double(x):\n    return x + 2\n"))
    assert not wrong.terminal and wrong.state.passed == 1 and wrong.state.total == 2
    [failure] = wrong.state.failures
    assert failure.test == "assert double(0) == 0" and failure.actual == "2" and failure.expected == "0"
    assert "1/2 tests passed" in wrong.observation

    broken = await env.step(wrong.state, CodeAction(text="def double(x):\n    return (x *\n"))
    assert not broken.state.loaded and broken.reward == 0.0 and broken.state.programs == 2
    assert "did not load" in broken.observation

    body_only = await env.step(root.state, CodeAction(text="    return x * 2"))
    assert body_only.solved  # a bare body is completed with the prompt, as HumanEval's harness does

    no_stop = CodeEnv(code_sandbox, stop_on_pass=False)
    await no_stop.reset(problem.task())
    assert not (await no_stop.step(root.state, CodeAction(text="def double(x):\n    return 2 * x\n"))).terminal


async def test_plans_and_repeated_programs(code_sandbox: ProcessSandbox) -> None:
    env = CodeEnv(code_sandbox)
    root = await env.reset(problem_from_call(PROMPT).task())
    planned = await env.step(root.state, CodeAction(kind="plan", text="multiply by two"))
    assert planned.state.plan == "multiply by two" and planned.state.program is None
    code = CodeAction(text="def double(x):\n    return x + x\n")
    first = await env.step(planned.state, code)
    again = await env.step(root.state, code)
    assert first.state.plan == "multiply by two" and again.state.plan is None
    assert env.runs == 1  # the same program is tested once
    assert env.action_key(code) == env.action_key(CodeAction(text="def double(x):\n    return x + x   \n\n"))


async def test_no_public_tests_never_ends_a_branch(code_sandbox: ProcessSandbox) -> None:
    problem = problem_from_call('def f(x):\n    """Something."""\n', hidden_tests=["assert f(1) == 1"])
    assert problem.public_tests == ()
    env = CodeEnv(code_sandbox)
    root = await env.reset(problem.task())
    step = await env.step(root.state, CodeAction(text="def f(x):\n    return x\n"))
    assert step.state.loaded and step.state.total == 0 and not step.terminal
    assert "no public tests" in step.observation
    verdict = await grade_hidden(code_sandbox, problem, step.state.program)
    assert verdict is not None and verdict.passed


async def test_redefining_a_prompt_helper_cannot_pass_falsely(code_sandbox: ProcessSandbox) -> None:
    """HumanEval/38: a candidate that redefines `encode_cyclic` (which the hidden tests call) to
    the identity, with decode the identity too, passes the official check; here it fails."""
    [problem] = load_humaneval(ids=["HumanEval/38"])
    cheat = "def encode_cyclic(s):\n    return s\n\n\ndef decode_cyclic(s):\n    return s\n"
    env = CodeEnv(code_sandbox)
    root = await env.reset(problem.task())
    step = await env.step(root.state, CodeAction(text=cheat))
    verdict = await grade_hidden(code_sandbox, problem, step.state.program)
    assert verdict is not None and not verdict.passed


async def test_a_non_code_task_is_refused(code_sandbox: ProcessSandbox) -> None:
    from treeagent.environments.base import Task

    with pytest.raises(ValueError, match="not a code task"):
        await CodeEnv(code_sandbox).reset(Task(id="x", prompt="hello"))


async def test_replacing_a_prompt_helper_at_run_time_cannot_pass(code_sandbox: ProcessSandbox) -> None:
    """HumanEval/32: the program's `poly` is the prompt's again after assembly, but a candidate
    can still rebind it from inside `find_zero`; the hidden tests' `poly` comes from the trusted
    prompt, so the wrong root fails."""
    [problem] = load_humaneval(ids=["HumanEval/32"])
    cheat = "def find_zero(xs):\n    global poly\n    poly = lambda xs, x: 0.0\n    return 0.5\n"
    env = CodeEnv(code_sandbox)
    root = await env.reset(problem.task())
    step = await env.step(root.state, CodeAction(text=cheat))
    verdict = await grade_hidden(code_sandbox, problem, step.state.program)
    assert verdict is not None and not verdict.passed and verdict.passed_tests == 0
