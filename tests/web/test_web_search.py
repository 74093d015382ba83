"""Controllers searching real pages: MiniWoB++ tasks solved by a scripted policy (reward read from
the page), bad actions become failed children, a browser killed mid-search fails only its nodes,
and best-first, DFSDT and MCTS all run on the same environment."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.heuristics import EnvReward, ScriptedPolicy, UniformPolicy
from treeagent.environments.web import MINIWOB_TASKS, Browser, WebAction, WebEnv, WebState, miniwob_task, url_task
from treeagent.environments.web.server import StaticServer
from treeagent.search import DFSDT, MCTS, BestFirst, Budget, read_records

pytestmark = pytest.mark.asyncio(loop_scope="session")


def find(state: WebState, role: str, name: str) -> WebAction:
    for e in state.elements:
        if e.role == role and e.name == name:
            return WebAction(kind="click", id=e.id)
    raise AssertionError(f"no {role} {name!r} in:\n{state.observation}")


async def test_at_least_twenty_miniwob_tasks_load_with_a_goal(browser: Browser) -> None:
    assert len(MINIWOB_TASKS) >= 20
    env = WebEnv(browser=browser, spare_starts=0)
    gate = asyncio.Semaphore(4)

    async def load(name: str) -> tuple[str, str, int]:
        async with gate:
            step = await env.reset(miniwob_task(name, seed=3))
            await env.forget(step.state.task_id)
            return name, step.state.goal, len(step.state.elements)

    try:
        loaded = await asyncio.gather(*(load(t.name) for t in MINIWOB_TASKS))
    finally:
        await env.close()
    for name, goal, elements in loaded:
        assert goal.strip(), f"{name} shows no goal"
        assert elements >= 1, f"{name} shows no element"


async def test_miniwob_seed_fixes_the_problem(browser: Browser) -> None:
    env = WebEnv(browser=browser, spare_starts=0)
    try:
        goals = [(await env.reset(miniwob_task("login-user", seed))).state.goal for seed in (1, 1, 2)]
    finally:
        await env.close()
    assert goals[0] == goals[1] != goals[2]


async def test_scripted_policy_solves_login_user_with_reward_one(browser: Browser, tmp_path: Path) -> None:
    env = WebEnv(browser=browser)
    task = miniwob_task("login-user", seed=1)
    try:
        root = await env.reset(task)
        user, password = re.findall(r'"([^"]+)"', root.state.goal)
        fields = [e.id for e in root.state.elements if e.role == "textbox"]
        login = find(root.state, "button", "Login")
        wrong = WebAction(kind="type", id=fields[0], text="nobody")
        script = [
            [wrong, WebAction(kind="type", id=fields[0], text=user)],
            [WebAction(kind="type", id=fields[1], text=password)],
            [login],
        ]
        trace = tmp_path / "login.jsonl"
        result = await BestFirst(
            ScriptedPolicy(script), EnvReward(), branching=2, max_depth=4, trace=trace, budget=Budget(max_expansions=8)
        ).run(env, task)
    finally:
        await env.close()
    assert result.solved and result.best.step is not None and result.best.step.reward == 1.0
    assert result.best_texts[-1].startswith(f"click({login.id})")
    records = list(read_records(trace))
    assert records[-1]["type"] == "end" and records[-1]["solved"] is True
    terminal = [r for r in records if r["type"] == "node" and r["terminal"]]
    assert terminal and terminal[-1]["reward"] == 1.0 and "Episode over: reward 1" in terminal[-1]["observation"]


async def test_wrong_click_ends_the_episode_with_reward_zero(browser: Browser) -> None:
    env = WebEnv(browser=browser, spare_starts=0)
    try:
        root = await env.reset(miniwob_task("click-button", seed=1))
        wanted = re.findall(r'"([^"]+)"', root.state.goal)[0]
        wrong = next(e for e in root.state.elements if e.role == "button" and e.name != wanted)
        right = find(root.state, "button", wanted)
        lost = await env.step(root.state, WebAction(kind="click", id=wrong.id))
        won = await env.step(root.state, right)  # root restored by replay-free start page
    finally:
        await env.close()
    assert lost.terminal and lost.reward == 0.0 and not lost.solved
    assert won.terminal and won.solved


async def test_malformed_and_unknown_actions_make_failed_children(browser: Browser) -> None:
    env = WebEnv(browser=browser)
    task = miniwob_task("click-test", seed=0)
    try:
        root = await env.reset(task)
        script = [
            ["error:the model wrote gibberish", WebAction(kind="click", id=99), find(root.state, "button", "Click Me!")]
        ]
        result = await BestFirst(ScriptedPolicy(script), EnvReward(), branching=3, max_depth=2).run(env, task)
    finally:
        await env.close()
    failed = [n for n in result.tree if n.failed]
    assert len(failed) == 2 and result.solved
    assert any("no element [99]" in (n.error or "") for n in failed)
    assert any("gibberish" in (n.error or "") for n in failed)


class CrashTheBrowser:
    """Wraps a policy; at call number `at` (the first expansion below the root) it proposes
    clicking a button that freezes the page, and kills the browser's main process a moment
    later, while that step is waiting on the page."""

    def __init__(self, inner: Any, browser: Browser, freeze: WebAction, at: int) -> None:
        self.inner, self.browser, self.freeze, self.at, self.calls = inner, browser, freeze, at, 0

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        self.calls += 1
        if self.calls != self.at:
            return await self.inner.propose(view, k)
        pids = await asyncio.to_thread(self.browser.pids)
        asyncio.get_running_loop().call_later(1.0, os.kill, pids[0], signal.SIGKILL)
        return [Proposal(action=self.freeze)]


async def test_browser_crash_mid_search_fails_the_node_and_the_search_goes_on(pages: StaticServer) -> None:
    browser = Browser()  # its own: this test kills it
    env = WebEnv(browser=browser, settle_ms=10, step_timeout_s=20)
    task = url_task(pages.url("steps.html"), "reach step 2", task_id="crash", success_text="Step 2")
    try:
        root = await env.reset(task)
        add_a, add_b = find(root.state, "button", "Add A"), find(root.state, "button", "Add B")
        freeze = find(root.state, "button", "Freeze")
        policy = CrashTheBrowser(ScriptedPolicy([[add_a, add_b], [add_a]]), browser, freeze, at=2)
        result = await BestFirst(policy, EnvReward(), branching=2, max_depth=3).run(env, task)
    finally:
        await env.close()
        await browser.close()
    crashed = [n for n in result.tree if n.failed]
    tree = [(n.id, n.parent.id if n.parent else None, n.text, n.status.name, n.error) for n in result.tree]
    assert len(crashed) == 1 and "browser crashed" in (crashed[0].error or ""), tree
    assert crashed[0].text.startswith(f"click({freeze.id})")
    # the branch under the crash is failed; the other first move (siblings are stepped
    # concurrently, so either may come first) goes on to the solution
    assert result.solved and result.best_path[1] is not crashed[0].parent, tree
    assert result.best_texts[-1].startswith(f"click({add_a.id})")
    # one restart; the crash is counted once per step that saw it (a spare page opening in the
    # background at that moment may see it too)
    assert browser.restarts == 1 and env.crashes >= 1, (browser.restarts, env.stats())


async def test_dfsdt_and_mcts_run_on_the_same_environment(browser: Browser, pages: StaticServer) -> None:
    env = WebEnv(browser=browser, settle_ms=10)
    task = url_task(pages.url("steps.html"), "reach step 2", task_id="ctl", success_text="Step 2")
    try:
        root = await env.reset(task)
        add_a, add_b = find(root.state, "button", "Add A"), find(root.state, "button", "Add B")
        dfsdt = await DFSDT(ScriptedPolicy([[add_b], [add_a]]), width=1, max_depth=3).run(env, task)
        mcts_env = WebEnv(browser=browser, settle_ms=10, spare_starts=0)
        click_task = miniwob_task("click-test", seed=0)
        mcts = await MCTS(UniformPolicy(), EnvReward(), budget=Budget(max_expansions=4), max_depth=2).run(
            mcts_env, click_task
        )
        await mcts_env.close()
    finally:
        await env.close()
    assert dfsdt.solved and dfsdt.best_texts[0].startswith(f"click({add_b.id})")
    assert mcts.solved
