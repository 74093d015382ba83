"""Token-level search and the default solver on recorded real responses of the embedded model:
it branches where the recorded next-token probabilities are uncertain, each rollout continues an
earlier one's prefix, every completion is counted, and the greedy program is always a candidate."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.coding import CodePolicy, PassRateEvaluator
from treeagent.agents.coding.policy import ROLLOUT_OPENING
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.coding import DEFAULT_SOLVER, CodeSolution, asolve_code, build_solver
from treeagent.environments.code import CodeEnv, load_humaneval, load_jsonl
from treeagent.sandbox import ProcessSandbox
from treeagent.search import last_run, read_records
from treeagent.search.adaptive import ARMS, AdaptiveSearch
from treeagent.search.controller import Controller

from .conftest import MakeLLM

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEVSET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "devset.jsonl"


def _prefill(record: dict[str, Any]) -> str:
    last = record["messages"][-1]
    assert last["role"] == "assistant", "a rollout continues a prefilled reply"
    assert last["content"].startswith(ROLLOUT_OPENING)
    return str(last["content"][len(ROLLOUT_OPENING) :])


async def test_pgtd_branches_where_the_model_is_uncertain(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # HumanEval/12 (longest): the small model fails its examples, so the search runs to its budget
    [problem] = load_humaneval(ids=["HumanEval/12"])
    trace = tmp_path / "pgtd.trace.jsonl"
    holder: dict[str, Any] = {}
    solution = await asolve_code(
        problem,
        solver="pgtd",
        budget_calls=5,
        llm=cassette_llm("longest_pgtd"),
        sandbox=code_sandbox,
        trace=trace,
        on_start=lambda c: holder.setdefault("controller", c),
    )
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    # every completion is one call, charged and traced, within the budget
    assert len(records) == solution.result.stats.llm_calls <= 5
    assert all(r["n"] == 1 and r["tag"] == "rollout" for r in records)
    controller: AdaptiveSearch = holder["controller"]
    tokens = controller.tokens
    assert tokens is not None and tokens.rollouts == len([n for n in solution.tree.root.children if not n.failed])
    prefixes = [_prefill(r) for r in records]
    assert prefixes[0] == ""  # the first rollout is the greedy program from the task alone
    texts = [prefix + r["texts"][0] for prefix, r in zip(prefixes, records, strict=True)]
    for i, prefix in enumerate(prefixes[1:], start=1):
        assert prefix, "a later rollout starts from a branch point"
        # it reuses an earlier rollout's text up to the branch point, then takes another token there
        stem = prefix[: -len(_last_token(prefix, tokens))]
        assert any(t.startswith(stem) and not t.startswith(prefix) for t in texts[:i])
    # ... and that token was an uncertain choice: an alternative with a recorded prior >= min_prior,
    # below the token the model preferred there
    for node in _branch_nodes(tokens):
        probs = sorted((node.top or {}).values(), reverse=True)
        chosen = [c for c in node.children.values() if c.visits]
        assert len(chosen) >= 2 and probs[0] < 1.0
        assert all(c.prior >= tokens.min_prior for c in chosen)
    assert solution.program is not None


def _last_token(prefix: str, tree: Any) -> str:
    """The token a branch added at the end of `prefix` (the tree holds it as a child's token)."""
    node = tree.root
    consumed, last = 0, ""
    while consumed < len(prefix):
        for token, child in node.children.items():
            if token and prefix.startswith(token, consumed):
                node, consumed, last = child, consumed + len(token), token
                break
        else:
            return prefix[consumed:]
    return last


def _branch_nodes(tree: Any) -> list[Any]:
    out, stack = [], [tree.root]
    while stack:
        node = stack.pop()
        if sum(1 for c in node.children.values() if c.visits) >= 2:
            out.append(node)
        stack.extend(node.children.values())
    return out


async def test_default_solver_writes_the_greedy_program_first_and_counts_every_call(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    [problem] = load_humaneval(ids=["HumanEval/12"])
    trace = tmp_path / "default.trace.jsonl"
    solution = await asolve_code(
        problem, budget_calls=6, llm=cassette_llm("longest_default"), sandbox=code_sandbox, trace=trace
    )
    assert solution.solver == DEFAULT_SOLVER
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    assert len(records) == solution.result.stats.llm_calls <= 6
    assert sum(r["returned"] for r in records) == len(records)  # one completion per call
    first = records[0]
    assert first["tag"] == "rollout" and _prefill(first) == ""
    greedy = await asolve_code(
        problem, solver="greedy", llm=cassette_llm("longest_greedy"), sandbox=code_sandbox
    )  # the greedy solver's own program is among the default solver's candidates
    programs = {n.step.state.program for n in solution.tree if n.step is not None and n.parent is not None}
    assert greedy.program in programs


async def _solve_dev(
    problem_id: str,
    budget: int,
    llm: LLMClient,
    sandbox: ProcessSandbox,
    tmp_path: Path,
    then: Callable[[Controller], None] | None = None,
    **knobs: Any,
) -> tuple[CodeSolution, AdaptiveSearch, Path]:
    """The default solver on one dev-set problem (with `knobs` set on its controller, then `then`
    applied to it): its solution, its controller and its trace."""
    [problem] = [p for p in load_jsonl(DEVSET) if p.id == problem_id]
    trace = tmp_path / "default.trace.jsonl"
    holder: dict[str, Any] = {}

    def start(controller: Controller) -> None:
        for name, value in knobs.items():
            assert hasattr(controller, name), name
            setattr(controller, name, value)
        if then is not None:
            then(controller)
        holder["controller"] = controller

    solution = await asolve_code(problem, budget_calls=budget, llm=llm, sandbox=sandbox, trace=trace, on_start=start)
    return solution, holder["controller"], trace


async def test_without_public_tests_the_default_solver_samples_after_the_greedy_program(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/11 has no docstring examples: no reward ranks programs, so token branches have nothing
    # to climb; after the greedy program every call is an independent sample, for agreement.
    solution, controller, trace = await _solve_dev("Dev/11", 5, cassette_llm("notests_default"), code_sandbox, tmp_path)
    assert not solution.problem.public_tests
    assert controller.scored is False
    assert controller.pulls == ["branch", "sample", "sample", "sample", "sample"]
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    assert len(records) == solution.result.stats.llm_calls == 5
    assert all(_prefill(r) == "" for r in records)  # every call starts from the task alone


async def test_next_to_programs_that_fail_every_example_the_default_solver_samples(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/10 has examples, and the small model's programs fail all of them: a token branch or a
    # revision next to such a program is blind, so until some program passes part of the tests
    # every call is a fresh sample from the task.
    solution, controller, _ = await _solve_dev("Dev/10", 5, cassette_llm("blind_default"), code_sandbox, tmp_path)
    assert solution.problem.public_tests
    assert controller.scored is True
    programs = [n for n in sorted(solution.tree, key=lambda n: n.id) if n.parent and n.step]
    rollouts = [n for n in programs if n.id not in solution.result.call_free]  # token edits make no call
    assert len(rollouts) == len(controller.pulls) == 5
    assert controller.pulls[0] == "branch" and rollouts[0].step.info["pass_rate"] == 0.0  # greedy fails all
    for rollout, arm in zip(rollouts[1:], controller.pulls[1:], strict=True):
        # every program made before this call (rollouts and their token edits) failed every example
        if max(n.step.info["pass_rate"] for n in programs if n.id < rollout.id) == 0.0:
            assert arm == "sample", f"node {rollout.id} came from {arm} with no program passing any example"
    assert controller.pulls[1:3] == ["sample", "sample"]


async def test_at_a_near_miss_the_default_solver_spends_no_call_on_revisions(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/4: the greedy program passes part of the examples, so every arm is open from the second
    # call. A revision never raised the best pass rate on our dev sets and costs more tokens, so
    # the default's arms are branches and samples: every call is a rollout from the task.
    solution, controller, trace = await _solve_dev("Dev/4", 6, cassette_llm("nearmiss_default"), code_sandbox, tmp_path)
    records = list(read_records(trace))
    calls = [i for i, r in enumerate(records) if r["type"] == "llm"]
    near = [i for i, r in enumerate(records) if r["type"] == "value" and 0.0 < r["value"] < 1.0]
    assert near and near[0] < calls[-1], "no near miss before the last call: a revision was never on offer"
    assert len(calls) == solution.result.stats.llm_calls == len(controller.pulls) == 6
    assert {records[i]["tag"] for i in calls} == {"rollout"}
    assert set(controller.pulls) == {"branch", "sample"}
    expanded = {r["node"] for r in records if r["type"] == "expand"}
    assert expanded == {0}, "a call was asked under a program, not from the task"


async def test_the_revise_arm_is_refused_with_a_policy_that_never_revises() -> None:
    # its pulls would make neither a program nor a call, and a search of them alone would spin
    async with LLMClient(LLMConfig(base_urls=["http://127.0.0.1:9/v1"])) as llm:  # never asked
        assert AdaptiveSearch(CodePolicy(llm, revise=False), PassRateEvaluator()).arms == ("branch", "sample")
        with pytest.raises(ValueError, match="revise arm needs a policy that revises"):
            AdaptiveSearch(CodePolicy(llm, revise=False), PassRateEvaluator(), arms=ARMS)
        assert AdaptiveSearch(CodePolicy(llm), PassRateEvaluator(), arms=ARMS).arms == ARMS


async def test_a_pull_whose_policy_proposes_nothing_is_a_stall(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/4 with the revise arm switched on and a policy that proposes no revision (set after the
    # constructor's check, as any policy that returns no proposal would): such a pull makes no
    # program and no call, so it is a stall, never a program evaluated again.
    def silent(controller: Controller) -> None:
        controller.policy.revise = False  # type: ignore[attr-defined]

    solution, controller, trace = await _solve_dev(
        "Dev/4", 6, cassette_llm("nearmiss_default"), code_sandbox, tmp_path, then=silent, arms=ARMS
    )
    records = list(read_records(trace))
    empty = [r for r in records if r["type"] == "expand" and r["node"] != 0]
    assert empty and all(not r["proposals"] for r in empty), "no revision was asked for"
    assert controller.pulls.count("revise") == len(empty)
    valued = [r["node"] for r in records if r["type"] == "value"]
    assert len(valued) == len(set(valued)), "a program was evaluated again for a pull that made none"
    calls = [r for r in records if r["type"] == "llm"]
    assert len(calls) == solution.result.stats.llm_calls <= 6
    assert {r["tag"] for r in calls} == {"rollout"}


async def test_the_default_solver_stops_at_the_first_public_pass(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/8: the greedy program passes the examples, and by default (confirm=0) that ends the search.
    solution, controller, trace = await _solve_dev("Dev/8", 8, cassette_llm("confirm_default"), code_sandbox, tmp_path)
    assert controller.confirm == 0
    nodes = [n for n in solution.tree if n.parent and n.step]
    assert len(nodes) == 1 and nodes[0].step is not None and nodes[0].step.terminal
    assert controller.pulls == ["branch"]
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    assert len(records) == solution.result.stats.llm_calls == 1
    assert solution.public_passed == solution.public_total > 0


async def test_with_confirm_a_public_pass_is_confirmed_by_samples(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/8 again, with confirm=2: the search draws up to 2 independent samples after the greedy
    # program's pass and stops early when two passers behave alike.
    solution, controller, trace = await _solve_dev(
        "Dev/8", 8, cassette_llm("confirm_default"), code_sandbox, tmp_path, confirm=2
    )
    nodes = [n for n in sorted(solution.tree, key=lambda n: n.id) if n.parent and n.step]
    assert nodes[0].step is not None and nodes[0].step.terminal  # the greedy program passes
    assert controller.pulls[0] == "branch" and set(controller.pulls[1:]) == {"sample"}
    assert 2 <= len(controller.pulls) <= 1 + controller.confirm
    passers = [n.step.info.get("signature") for n in nodes if n.step is not None and n.step.terminal]
    if len(controller.pulls) < 1 + controller.confirm:  # it stopped early: two passers agreed
        assert len(passers) != len(set(passers))
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    assert len(records) == solution.result.stats.llm_calls == len(controller.pulls)
    assert solution.public_passed == solution.public_total > 0


@pytest.mark.parametrize("solver", ["best_of_n", "test_guided", "pgtd"])
async def test_sampling_solvers_ask_for_the_greedy_program_first(solver: str) -> None:
    calls: list[float] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["sampling"].temperature)
        raise RuntimeError("stop here: only the first request is inspected")

    async with LLMClient(LLMConfig(base_urls=["http://127.0.0.1:9/v1"])) as llm:  # never reached
        llm.complete = spy  # type: ignore[method-assign]
        setup = build_solver(solver, llm, budget_calls=4)
        env = CodeEnv(probe=False)
        try:
            await setup.controller.run(env, load_humaneval(ids=["HumanEval/12"])[0].task())
        finally:
            await env.close()
    assert calls and math.isclose(calls[0], 0.0)


def _edit_proposals_in(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The token-edit proposals of a trace record (each names the rollout it edits in `edit_of`)."""
    if record["type"] != "expand":
        return []
    return [p for p in record["proposals"] if "edit_of" in p.get("meta", {})]


def _edit_proposals(trace: Path) -> list[dict[str, Any]]:
    return [p for record in read_records(trace) for p in _edit_proposals_in(record)]


async def test_the_default_solver_tries_one_token_edits_of_failing_rollouts_without_a_call(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Dev/6 (is_prime): the small model's rollouts fail an example by one slip (a bound, a
    # comparison); its likeliest one-token edits are run on the examples with no model call,
    # and one of them passes every example.
    solution, controller, trace = await _solve_dev("Dev/6", 6, cassette_llm("edits_default"), code_sandbox, tmp_path)
    records = [r for r in read_records(trace) if r["type"] == "llm"]
    assert len(records) == solution.result.stats.llm_calls == len(controller.pulls) <= 6  # edits cost no call
    nodes = {n.id: n for n in solution.tree if n.parent is not None and n.step is not None}
    free = solution.result.call_free  # the nodes made without a model call
    edits = [nodes[i] for i in free if i in nodes]
    assert edits, "no rollout was edited"
    by_source: dict[int, int] = {}
    for proposal in _edit_proposals(trace):
        source = nodes[proposal["meta"]["edit_of"]]
        assert source.id not in free  # an edit of a rollout, not of an edit
        info = source.step.info if source.step is not None else {}
        assert info["loaded"] and info["passed"] < info["total"]  # only failing programs are edited
        assert proposal["action"]["text"] != source.action.text
        by_source[source.id] = by_source.get(source.id, 0) + 1
    assert max(by_source.values()) <= controller.edits
    passers = [n for n in edits if n.step is not None and n.step.terminal]
    assert passers, "the recorded edits were meant to hold a pass"
    first = min(n.id for n in nodes.values() if n.step is not None and n.step.terminal)
    assert all(i <= first + controller.edits for i in free)  # none once a program passed
    assert solution.public_passed == solution.public_total > 0
    # the result and the trace say which nodes cost no call, for any reader (the benchmark's budgets):
    # exactly the programs of the edit proposals
    assert sorted(nodes[i].action.text for i in free) == sorted(p["action"]["text"] for p in _edit_proposals(trace))
    expands = [r for r in read_records(trace) if r["type"] == "expand"]
    assert all((r.get("calls") is False) == bool(_edit_proposals_in(r)) for r in expands)


async def test_a_resumed_default_search_replays_its_edits_and_keeps_its_budget(
    cassette_llm: MakeLLM, code_sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    # Killed just after its first token-edit expansion was traced: on resume the edits come back
    # from the trace (no model call made them in the first place), and the calls stay within budget.
    _, _, full = await _solve_dev("Dev/6", 6, cassette_llm("edits_default"), code_sandbox, tmp_path)
    lines = full.read_text().splitlines(keepends=True)
    cut = next(i for i, r in enumerate(read_records(full)) if r["type"] == "expand" and _edit_proposals_in(r))
    killed = tmp_path / "killed.jsonl"
    killed.write_text("".join(lines[: cut + 1]))
    spent = sum(r["returned"] for r in read_records(killed) if r["type"] == "llm")
    [problem] = [p for p in load_jsonl(DEVSET) if p.id == "Dev/6"]
    setup = build_solver(DEFAULT_SOLVER, cassette_llm("edits_default"), budget_calls=6, trace=killed)
    setup.controller.resume = True
    env = CodeEnv(code_sandbox)
    try:
        result = await setup.controller.run(env, problem.task())
    finally:
        await env.close()
    run = last_run(killed)
    replayed = [r for r in run if r["type"] == "expand" and r.get("resumed") and _edit_proposals_in(r)]
    assert replayed, "the edit expansion was not taken from the trace"
    new = sum(r["returned"] for r in run if r["type"] == "llm" and not r.get("resumed"))
    assert result.stats.llm_calls == spent + new <= 6
    # the replayed edits are call-free too: the result lists exactly the programs of the run's edit proposals
    edited = sorted(n.action.text for n in result.tree if n.id in result.call_free)
    assert edited and edited == sorted(p["action"]["text"] for r in run for p in _edit_proposals_in(r))
