"""A fault in one branch (policy, environment step, evaluator, malformed reply, timeout) marks
that node failed with its error kept, and the search goes on to solve the task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.heuristics import ScriptedPolicy, UniformPolicy
from treeagent.environments.base import Capabilities, Step
from treeagent.environments.games.game24 import Game24Env, Game24State, game24_task
from treeagent.search import DFSDT, MCTS, Beam, BestFirst, Budget, Controller, Status

PUZZLE = (2, 3, 5, 6)
ALL = 64


class FlakyGame24(Game24Env):
    """Game of 24 whose step raises or hangs on chosen first moves; not cheap, so steps are awaited."""

    capabilities = Capabilities(deterministic=True, cheap_clone=False)

    def __init__(self, raise_on: set[str], hang_on: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.raise_on = raise_on
        self.hang_on = hang_on

    async def step(self, state: Game24State, action: Any) -> Step[Game24State]:
        text = self.action_text(action)
        if len(state.numbers) < 4:
            return self.step_now(state, action)
        if text in self.hang_on:
            await asyncio.sleep(3600)
        if text in self.raise_on:
            raise RuntimeError(f"browser crashed on {text}")
        return self.step_now(state, action)


class PolicyFailingAtDepth1(UniformPolicy):
    def __init__(self, failing_first_moves: int) -> None:
        self.remaining = failing_first_moves

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        if view.depth == 1 and self.remaining > 0:
            self.remaining -= 1
            raise ConnectionError("model endpoint reset the connection")
        return await super().propose(view, k)


class EvaluatorFailingOnce:
    def __init__(self) -> None:
        self.failed = False

    async def value(self, view: NodeView) -> float:
        if view.depth == 1 and not self.failed:
            self.failed = True
            raise ValueError("malformed score from the model")
        return 0.5


def _controllers(policy: Any, evaluator: Any = None, **kw: Any) -> list[Controller]:
    """The four controllers, scoring by the environment's reward unless told otherwise."""
    common: dict[str, Any] = {"budget": Budget(max_expansions=3000), "seed": 1, "max_depth": 3, **kw}
    return [
        BestFirst(policy, evaluator, branching=ALL, **common),
        DFSDT(policy, evaluator, width=ALL, **common),
        Beam(policy, evaluator, width=ALL, expansions_per_beam=ALL, **common),
        MCTS(policy, evaluator, **common),
    ]


@pytest.mark.parametrize("index", range(4))
async def test_environment_step_that_raises_fails_only_that_child(index: int) -> None:
    base = Game24Env()
    root = await base.reset(game24_task(PUZZLE))
    broken = {base.action_text(a) for a in base.legal_actions(root.state)[:5]}
    env = FlakyGame24(broken)
    controller = _controllers(UniformPolicy())[index]
    result = await controller.run(env, game24_task(PUZZLE))
    failed = [n for n in result.tree if n.status == Status.FAILED]
    assert failed, "no branch hit the broken moves"
    assert all(n.text in broken and "browser crashed" in (n.error or "") for n in failed)
    assert result.solved, result.summary()


@pytest.mark.parametrize("index", range(4))
async def test_policy_that_raises_fails_only_that_node(index: int) -> None:
    controller = _controllers(PolicyFailingAtDepth1(3))[index]
    result = await controller.run(Game24Env(), game24_task(PUZZLE))
    failed = [n for n in result.tree if n.status == Status.FAILED]
    assert len(failed) == 3
    assert all(n.depth == 1 and "ConnectionError" in (n.error or "") for n in failed)
    assert result.solved
    assert result.stats.failed_nodes == 3


async def test_evaluator_that_raises_fails_only_that_node() -> None:
    result = await BestFirst(UniformPolicy(), EvaluatorFailingOnce(), branching=ALL, max_depth=3, seed=1).run(
        Game24Env(), game24_task(PUZZLE)
    )
    failed = [n for n in result.tree if n.status == Status.FAILED]
    assert len(failed) == 1 and "malformed score" in (failed[0].error or "")
    assert result.solved


async def test_hanging_step_times_out_and_the_search_goes_on() -> None:
    base = Game24Env()
    root = await base.reset(game24_task(PUZZLE))
    hang = {base.action_text(a) for a in base.legal_actions(root.state)[:2]}
    env = FlakyGame24(set(), hang)
    controller = BestFirst(UniformPolicy(), branching=ALL, max_depth=3, step_timeout=0.2, seed=1)
    result = await asyncio.wait_for(controller.run(env, game24_task(PUZZLE)), 30)
    timed_out = [n for n in result.tree if n.error and "timed out" in n.error]
    assert {n.text for n in timed_out} == hang
    assert result.solved


async def test_malformed_replies_and_give_up_become_failed_children() -> None:
    env = Game24Env()
    root = await env.reset(game24_task(PUZZLE))
    good = env.legal_actions(root.state)[0]
    policy = ScriptedPolicy([["error:no action in the reply", "give_up", good]])
    result = await BestFirst(policy, branching=3, max_depth=1).run(env, game24_task(PUZZLE))
    children = result.tree.root.children
    assert [c.status for c in children] == [Status.FAILED, Status.FAILED, Status.OPEN]
    assert children[0].error == "no action in the reply"
    assert children[1].give_up


async def test_dfsdt_backs_off_two_levels_after_a_give_up() -> None:
    env = Game24Env()
    root = await env.reset(game24_task((1, 1, 1, 1)))
    a, b = env.legal_actions(root.state)[:2]
    # depth 0 offers a then b; depth 1 offers some move; depth 2 gives up at once
    step_a = env.step_now(root.state, a)
    deeper = env.legal_actions(step_a.state)[:2]
    policy = ScriptedPolicy([[a, b], deeper, ["give_up", deeper[0]]])
    result = await DFSDT(policy, width=2, give_up_backoff=2, max_depth=3).run(env, game24_task((1, 1, 1, 1)))
    node_a, node_b = result.tree.root.children
    assert (node_a.action, node_b.action) == (a, b)
    # A give-up backs off two levels, as ToolBench does: the node where it happened is abandoned
    # (its second option is never tried, though width=2), and its parent tries its next child.
    first, second = node_a.children
    assert [c.give_up for c in first.children] == [True]
    assert [c.give_up for c in second.children] == [True]
    assert len(node_b.children) == 2
