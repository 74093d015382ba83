"""One cell of a comparison: one search, from a JSON spec to a JSON row (runs here or in a Ray
worker). Game-like environments get a search controller with `treeagent run`'s policy and
evaluator choices; coding sets get a coding solver, judged on the hidden tests."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from treeagent.compare import cell_key, coding_source, is_coding_env, knobs_for
from treeagent.search import CONTROLLERS, Budget

#: children per MCTS expansion with an LLM policy, unless --set children_per_expansion=N
LLM_CHILDREN = 4


async def run_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """One search of one cell; its row: solved, spending, wall time (a JSON object)."""
    started = time.perf_counter()
    if is_coding_env(spec["env"]):
        row = await _coding_cell(spec)
    else:
        row = await _search_cell(spec)
    return {
        "key": cell_key(spec),
        "controller": spec["controller"],
        "level": spec["level"],
        "budget": spec["budget"],
        **row,
        "cell_s": round(time.perf_counter() - started, 3),
    }


@contextlib.asynccontextmanager
async def _cell_agents(spec: dict[str, Any]) -> AsyncIterator[tuple[Any, Any]]:
    """`treeagent run`'s policy and evaluator choices; with a model, a client on every endpoint
    listed in the spec (the searches of all workers share them)."""
    from treeagent.cli.run import _agents

    policy, evaluator = spec["policy"], spec["evaluator"]
    if policy != "llm" and evaluator != "llm":
        async with _agents(policy, evaluator, None) as agents:
            yield agents
        return
    from treeagent.agents.heuristics import EnvReward, RandomRollout, UniformPolicy
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.agents.llm_evaluator import LLMSelfEvaluator
    from treeagent.agents.llm_policy import LLMPolicy

    async with LLMClient(LLMConfig.load(base_urls=spec.get("base_url"))) as llm:
        chosen: Any = {"reward": EnvReward(), "rollout": RandomRollout(n=4)}.get(evaluator) or LLMSelfEvaluator(llm)
        yield (LLMPolicy(llm) if policy == "llm" else UniformPolicy()), chosen


async def _search_cell(spec: dict[str, Any]) -> dict[str, Any]:
    from treeagent.registry import make

    text = spec["task"]
    env, task = make(spec["env"], None, text) if text.lstrip().startswith("{") else make(spec["env"], text)
    name = spec["controller"]
    knobs = knobs_for(name, spec["knobs"])
    if name == "mcts" and spec["policy"] == "llm":
        # MCTS asks for every action by default (a game's uniform policy lists them all); from a
        # model that would be one request for 2**30 samples. A few per expansion, as LATS does.
        knobs.setdefault("children_per_expansion", LLM_CHILDREN)
    async with _cell_agents(spec) as (policy, evaluator):
        controller = CONTROLLERS[name](
            policy,
            evaluator,
            budget=Budget(**spec["budget"]),
            seed=spec["seed"],
            concurrency=spec["concurrency"],
            **knobs,
        )
        try:
            result = await controller.run(env, task)
        finally:
            await env.close()
    s = result.stats
    return {
        "task": task.id,
        "solved": result.solved,
        "stop_reason": result.stop_reason,
        "best_actions": result.best_texts,
        "expansions": s.expansions,
        "env_steps": s.env_steps,
        "llm_calls": s.llm_calls,
        "tokens": s.tokens,
        "nodes": len(result.tree),
        "wall_s": s.wall_seconds,
    }


async def _coding_cell(spec: dict[str, Any]) -> dict[str, Any]:
    from treeagent.agents.llm_client import LLMClient
    from treeagent.agents.llm_config import LLMConfig
    from treeagent.coding.solve import asolve_code
    from treeagent.environments.code import load_problems
    from treeagent.sandbox import ProcessSandbox

    problem = load_problems(coding_source(spec["env"]), ids=[spec["task"]])[0]
    budget = spec["budget"]
    config = LLMConfig.load(base_urls=spec.get("base_url"))
    async with LLMClient(config) as llm, ProcessSandbox(workers=1, uid_base=sandbox_uid_base()) as sandbox:
        solution = await asolve_code(
            problem,
            solver=spec["controller"],
            budget_calls=int(budget["max_llm_calls"]),
            max_seconds=budget.get("max_seconds"),
            concurrency=spec["concurrency"],
            seed=spec["seed"],
            llm=llm,
            sandbox=sandbox,
        )
    s = solution.result.stats
    return {
        "task": problem.id,
        "solved": solution.passed,
        "stop_reason": solution.result.stop_reason,
        "public_passed": solution.public_passed,
        "public_total": solution.public_total,
        "expansions": s.expansions,
        "env_steps": s.env_steps,
        "llm_calls": s.llm_calls,
        "tokens": s.tokens,
        "nodes": len(solution.result.tree),
        "wall_s": s.wall_seconds,
    }


def sandbox_uid_base() -> int:
    """Sandbox uids of their own per process, so that workers on one machine share none."""
    return 60000 + (os.getpid() % 1000) * 2
