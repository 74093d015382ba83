"""The web environment against a real headless Chromium on fixture pages served on 127.0.0.1:
the observation, every action, restoring states by replay (and failing loudly when the page
differs), the pool's bounds, irreversible actions, a hanging page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from treeagent.environments.base import InvalidAction, Step, StepError
from treeagent.environments.web import Browser, ReplayMismatch, WebAction, WebEnv, WebState, url_task
from treeagent.environments.web.server import StaticServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def env(browser: Browser) -> AsyncIterator[WebEnv]:
    environment = WebEnv(browser=browser, max_live=6, settle_ms=10)
    yield environment
    await environment.close()


def element(state: WebState, role: str, name: str) -> int:
    for e in state.elements:
        if e.role == role and e.name == name:
            return e.id
    raise AssertionError(f"no {role} {name!r} in:\n{state.observation}")


async def act(env: WebEnv, step: Step[WebState], text: str) -> Step[WebState]:
    return await env.step(step.state, env.parse_action(step.state, text))


async def test_observation_shows_roles_names_values_and_focus(env: WebEnv, pages: StaticServer, tmp_path: Path) -> None:
    step = await env.reset(url_task(pages.url("form.html"), "say hello", task_id="obs"))
    text = step.observation
    assert text.startswith(f"URL: {pages.url('form.html')}\nTitle: Form Fixture")
    for line in ("heading 'Sign up'", "textbox 'Name'", "combobox 'Color' value='Red'", "checkbox 'I agree'"):
        assert line in text
    assert "button 'Greet'" in text and "link 'Second page'" in text
    assert "focused" not in text.split("Title:")[1].split("\n", 1)[1]
    name = element(step.state, "textbox", "Name")
    focused = await act(env, step, f"click({name})")
    assert f"[{name}] textbox 'Name' focused" in focused.observation
    assert env.render(focused.state) == focused.state.observation
    small = WebEnv(browser=env.browser, max_obs_chars=250, spare_starts=0, screenshots=tmp_path)
    try:
        cut = await small.reset(url_task(pages.url("form.html"), "say hello", task_id="small"))
        assert len(cut.observation) <= 250 and "[... observation cut:" in cut.observation
        shot = Path(cut.info["screenshot"])
        assert shot.parent == tmp_path and (await asyncio.to_thread(shot.read_bytes))[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        await small.close()


async def test_every_action_acts_on_the_page(env: WebEnv, pages: StaticServer) -> None:
    step = await env.reset(url_task(pages.url("form.html"), "greet Ada", task_id="actions"))
    s = step.state
    step = await act(env, step, f'type({element(s, "textbox", "Name")}, "Ada")')
    assert "value='Ada'" in step.observation
    step = await act(env, step, f'select({element(s, "combobox", "Color")}, "Green")')
    assert "combobox 'Color' value='Green'" in step.observation
    step = await act(env, step, f"click({element(s, 'checkbox', 'I agree')})")
    assert "checkbox 'I agree' focused checked" in step.observation
    step = await act(env, step, f"click({element(s, 'button', 'Greet')})")
    assert "Hello, Ada in Green (agreed)" in step.observation
    step = await act(env, step, 'press("x")')
    assert "Last key x" in step.observation
    step = await act(env, step, 'scroll("down")')
    assert "Scrolled to below" in step.observation
    step = await act(env, step, f"click({element(step.state, 'link', 'Second page')})")
    assert step.state.url == pages.url("second.html") and "You made it." in step.observation
    step = await act(env, step, "back()")
    assert step.state.url == pages.url("form.html")
    step = await act(env, step, f'goto("{pages.url("second.html")}")')
    assert "heading 'Second page'" in step.observation
    done = await act(env, step, 'stop("I am done")')
    assert done.terminal and done.info["needs_judge"] and done.state.answer == "I am done"
    assert done.state.path[-1] == WebAction(kind="stop", text="I am done")
    assert [a.kind for a in done.state.path] == [
        "type",
        "select",
        "click",
        "click",
        "press",
        "scroll",
        "click",
        "back",
        "goto",
        "stop",
    ]
    with pytest.raises(InvalidAction, match="episode is over"):
        await env.step(done.state, WebAction(kind="back"))


async def test_user_task_success_by_check_by_text_or_by_judge(browser: Browser, pages: StaticServer) -> None:
    async def greeted(page: object) -> bool:
        return "Hello, Ada" in await page.inner_text("#out")  # type: ignore[attr-defined]

    async def judge(task: object, state: WebState) -> float:
        return 1.0 if state.answer == "Ada" else 0.0

    env = WebEnv(browser=browser, settle_ms=10, spare_starts=0, checks={"check": greeted}, judge=judge)
    try:
        step = await env.reset(url_task(pages.url("form.html"), "greet Ada", task_id="check"))
        assert env.has_ground_truth(env._tasks["check"])
        typed = await act(env, step, f'type({element(step.state, "textbox", "Name")}, "Ada")')
        assert not typed.terminal
        done = await act(env, typed, f"click({element(step.state, 'button', 'Greet')})")
        assert done.solved and done.info["reason"] == "the success check passed"
        texty = await env.reset(url_task(pages.url("form.html"), "go on", task_id="text", success_text="You made it"))
        there = await act(env, texty, f"click({element(texty.state, 'link', 'Second page')})")
        assert there.solved
        judged = await env.reset(url_task(pages.url("form.html"), "who?", task_id="judged"))
        assert not env.has_ground_truth(env._tasks["judged"])
        right = await act(env, judged, 'stop("Ada")')
        wrong = await act(env, judged, 'stop("Bob")')  # stop leaves the page live for siblings
        assert right.solved and "judged" in right.info["reason"] and wrong.terminal and wrong.reward == 0.0
        assert env.pool.stats.replays == 0
    finally:
        await env.close()


async def test_bad_actions_raise_invalid_action_not_a_crash(env: WebEnv, pages: StaticServer) -> None:
    step = await env.reset(url_task(pages.url("form.html"), "x", task_id="bad"))
    with pytest.raises(InvalidAction, match=r"no element \[999\]"):
        await env.step(step.state, WebAction(kind="click", id=999))
    with pytest.raises(InvalidAction, match="unknown action"):
        env.parse_action(step.state, "dance(3)")
    button = element(step.state, "button", "Greet")
    with pytest.raises(InvalidAction, match="not a text field"):
        await env.step(step.state, WebAction(kind="type", id=button, text="x"))
    # the page is still usable afterwards
    ok = await act(env, step, f"click({button})")
    assert "Hello, in Red" in ok.observation


async def test_restore_replays_from_the_nearest_live_ancestor(env: WebEnv, pages: StaticServer) -> None:
    root = await env.reset(url_task(pages.url("steps.html"), "add", task_id="replay"))
    a_id = element(root.state, "button", "Add A")
    b_id = element(root.state, "button", "Add B")
    a = await act(env, root, f"click({a_id})")
    ab = await act(env, a, f"click({b_id})")
    aba = await act(env, ab, f"click({a_id})")
    assert "Trail: A B A" in aba.observation and "Step 3" in aba.observation
    stats = env.pool.stats
    assert stats.hits == 3 and stats.replays == 0
    # the parent of aba is not live any more: a sibling from ab replays A, B on a start page
    await env.settled()
    abb = await act(env, ab, f"click({b_id})")
    assert "Trail: A B B" in abb.observation and "Step 3" in abb.observation
    assert (stats.replays, stats.replayed_actions) == (1, 2)
    assert env.spare_hits == 1  # the start page was a warm spare
    # make `a` live, then restore a deeper state below it: only the actions below `a` replay
    await env.ensure_live(a.state)
    before = (stats.replayed_actions, stats.fresh_starts, env.spare_hits)
    abab = await act(env, aba, f"click({b_id})")  # aba's page is live: a hit
    assert "Trail: A B A B" in abab.observation
    restored = await act(env, ab, f"click({a_id})")  # ab's page moved on: restore ab from `a`
    assert "Trail: A B A" in restored.observation and "Step 3" in restored.observation
    assert stats.replayed_actions - before[0] == 1 and stats.fresh_starts == before[1]
    assert env.spare_hits == before[2]  # no start page was needed: `a` was the nearest live ancestor
    # states are values: the old ones still describe what they saw
    assert "Trail: A B A" in aba.state.observation and aba.state.path == (*ab.state.path, aba.state.path[-1])


async def test_a_page_that_differs_after_replay_fails_loudly(env: WebEnv, pages: StaticServer) -> None:
    root = await env.reset(url_task(pages.url("steps.html"), "roll", task_id="mismatch"))
    rolled = await act(env, root, f"click({element(root.state, 'button', 'Roll dice')})")
    added = await act(env, rolled, f"click({element(root.state, 'button', 'Add A')})")
    assert "rolled" in added.observation
    # rolled's page is now `added`'s; a sibling below rolled needs a replay of the roll, which
    # shows another number: the restore must refuse to continue on that page
    with pytest.raises(ReplayMismatch, match=r"fingerprint .* differs from the recorded"):
        await act(env, rolled, f"click({element(root.state, 'button', 'Add B')})")
    # the live, consistent branch is unaffected
    more = await act(env, added, f"click({element(root.state, 'button', 'Add B')})")
    assert "Step 2" in more.observation


async def test_a_live_page_that_changed_on_its_own_is_replayed_not_used(env: WebEnv, pages: StaticServer) -> None:
    root = await env.reset(url_task(pages.url("steps.html"), "drift", task_id="drift"))
    added = await act(env, root, f"click({element(root.state, 'button', 'Add A')})")
    # the live page changes behind the search's back (a timer, a late script would do this)
    live = env.pool._pages[added.state.key()]
    await live.page.evaluate("() => { document.getElementById('count').textContent = 'Changed later'; }")
    drifted = env.pool.stats.drifted
    after = await act(env, added, f"click({element(root.state, 'button', 'Add B')})")
    assert env.pool.stats.drifted == drifted + 1
    assert "Step 2" in after.observation and "Changed later" not in after.observation


async def test_pool_is_bounded_and_evicted_states_come_back_by_replay(browser: Browser, pages: StaticServer) -> None:
    env = WebEnv(browser=browser, max_live=2, settle_ms=10, spare_starts=0)
    try:
        root = await env.reset(url_task(pages.url("steps.html"), "add", task_id="evict"))
        a_id = element(root.state, "button", "Add A")
        b_id = element(root.state, "button", "Add B")
        a = await act(env, root, f"click({a_id})")
        b = await act(env, root, f"click({b_id})")  # root was consumed: a fresh start
        bb = await act(env, b, f"click({b_id})")
        aa = await act(env, a, f"click({a_id})")
        assert len(env.pool) == 2
        ab = await act(env, a, f"click({b_id})")  # a -> aa consumed a's page
        assert "Trail: A B" in ab.observation
        ba = await act(env, b, f"click({a_id})")  # b's page became bb's
        assert "Trail: B A" in ba.observation
        assert len(env.pool) <= 2 and env.pool.stats.evictions >= 2
        assert env.pool.keys()[-1] == ba.state.key()
        assert "Trail: B B" in bb.observation and "Trail: A A" in aa.observation
        contexts = len(browser._browser.contexts)  # pages in the pool are the only contexts left
        assert contexts == len(env.pool)
    finally:
        await env.close()


async def test_irreversible_actions_are_flagged_and_never_replayed(env: WebEnv, pages: StaticServer) -> None:
    root = await env.reset(url_task(pages.url("steps.html"), "buy", task_id="buy"))
    bought = await act(env, root, f"click({element(root.state, 'button', 'Buy now')})")
    assert bought.info["irreversible"] is True and bought.state.irreversible == (True,)
    after = await act(env, bought, f"click({element(bought.state, 'button', 'Add A')})")
    assert "Step 1" in after.observation
    with pytest.raises(StepError, match="flagged irreversible"):
        await act(env, bought, f"click({element(bought.state, 'button', 'Add B')})")
    assert WebEnv.capabilities.irreversible


async def test_a_hanging_page_fails_the_step_and_the_environment_goes_on(browser: Browser, pages: StaticServer) -> None:
    env = WebEnv(browser=browser, step_timeout_s=3, action_timeout_s=1, settle_ms=10, spare_starts=0)
    try:
        root = await env.reset(url_task(pages.url("steps.html"), "hang", task_id="hang"))
        with pytest.raises(StepError, match=r"hung|failed on the page|did not finish"):
            await act(env, root, f"click({element(root.state, 'button', 'Freeze')})")
        ok = await act(env, root, f"click({element(root.state, 'button', 'Add A')})")
        assert "Step 1" in ok.observation
    finally:
        await env.close()
