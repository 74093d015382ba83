"""The web environment: tree search over real pages in headless Chromium.

A state is the action path from the task's start page, with the fingerprint recorded after each
action and the observation it led to. Live pages sit in a bounded pool keyed by state; stepping
from a state that is not live restores it by replaying from its deepest live ancestor, checking
fingerprints on the way (see pool.py). A fault stays in its branch: a bad action, a page that
hangs past `step_timeout_s`, or a browser crash raises `StepError` (the node fails); after a
crash the browser is restarted on the next step and states are restored by replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, StepError, Task
from treeagent.environments.web.actions import WebAction, check_target, is_irreversible, parse_action
from treeagent.environments.web.browser import Browser
from treeagent.environments.web.driver import LivePage, apply, open_page, settle
from treeagent.environments.web.listing import plausible_actions
from treeagent.environments.web.pool import StatePool
from treeagent.environments.web.sites import Check, MiniWobSite, Outcome, UrlSite
from treeagent.environments.web.state import KEY_SEP, WebState
from treeagent.environments.web.tasks import WebTaskError, miniwob_root


class WebEnv(Environment[WebState, WebAction]):
    """MiniWoB++ tasks and users' own pages, in one headless Chromium.

    max_live: live pages kept (each costs a browser context, ~65 MiB).
    listed_actions: `legal_actions` lists the plausible actions (clicks on the page's elements,
        typing the goal's quoted strings, the options of lists), so a model can be constrained to
        them; off, the action space is open and the model writes actions as text.
    checks: success checks of user tasks, by task id (a function of the Playwright page).
    replay_irreversible: allow replaying flagged actions of user tasks (MiniWoB pages always may).
    spare_starts: start pages per task kept warm in the background, so a restore by replay from
        the start does not wait for a new context and a page load.
    verify_live: re-read a live page before acting on it; if it changed on its own since it was
        recorded, it is replayed instead of used.
    screenshots: a folder: each step's page is also saved there as a PNG (its path in
        `Step.info["screenshot"]`), for people and multimodal models to look at.
    judge: for a user task with no success check, scores the episode ended by `stop(answer)`
        (the model as judge, wired in by treeagent.web); without one such an episode scores 0.
    """

    name: ClassVar[str] = "web"
    capabilities: ClassVar[Capabilities] = Capabilities(deterministic=True, cheap_clone=False, irreversible=True)

    def __init__(
        self,
        *,
        browser: Browser | None = None,
        max_live: int = 8,
        max_obs_chars: int = 4000,
        settle_ms: int = 30,
        action_timeout_s: float = 5.0,
        step_timeout_s: float = 30.0,
        listed_actions: bool = True,
        checks: dict[str, Check] | None = None,
        replay_irreversible: bool = False,
        spare_starts: int = 1,
        verify_live: bool = True,
        judge: Callable[[Task, WebState], Awaitable[float]] | None = None,
        screenshots: str | Path | None = None,
    ) -> None:
        self.browser = browser or Browser()
        self._own_browser = browser is None
        self.pool = StatePool(max_live)
        self.max_obs_chars = max_obs_chars
        self.settle_ms = settle_ms
        self.action_timeout_s = action_timeout_s
        self.step_timeout_s = step_timeout_s
        self.listed_actions = listed_actions
        self._url_site = UrlSite(checks, replay_irreversible)
        self._miniwob: MiniWobSite | None = None
        self._tasks: dict[str, Task] = {}
        self._goals: dict[str, str] = {}
        self.crashes = 0
        self.spare_starts = spare_starts
        self.verify_live = verify_live
        self.judge = judge
        self.screenshots = Path(screenshots) if screenshots is not None else None
        if self.screenshots is not None:
            self.screenshots.mkdir(parents=True, exist_ok=True)
        self.spare_hits = 0
        self._spares: dict[str, list[LivePage]] = {}
        self._filling: dict[str, int] = {}
        self._jobs: set[asyncio.Task[None]] = set()

    # -- sites and tasks -------------------------------------------------------------------------
    def _site(self, task: Task) -> MiniWobSite | UrlSite:
        kind = task.data.get("site")
        if kind == "miniwob":
            if self._miniwob is None:
                from treeagent.environments.web.server import serve_folder

                self._miniwob = MiniWobSite(serve_folder(miniwob_root()).url())
            return self._miniwob
        if kind == "url":
            return self._url_site
        raise WebTaskError(
            f"task {task.id!r} is not a web task (data.site is {kind!r}); build one with miniwob_task() or url_task()"
        )

    def has_ground_truth(self, task: Task) -> bool:
        """Does the page (MiniWoB) or a check say when `task` succeeds, or only the model's judgement?"""
        data = task.data
        return data.get("site") == "miniwob" or bool(data.get("success_text")) or task.id in self._url_site.checks

    def add_check(self, task_id: str, check: Check) -> None:
        """Register the success check of a user task."""
        self._url_site.checks[task_id] = check

    async def _fresh(self, task: Task) -> LivePage:
        """A new context on the task's start page, observed."""
        site = self._site(task)
        live = await open_page(self.browser)
        try:
            goal = await site.open(live, task, self.action_timeout_s)
            await settle(live, self.settle_ms, self.action_timeout_s)
            await live.observe(self.max_obs_chars)
        except BaseException:
            await live.close()
            raise
        live.meta["goal"] = goal
        return live

    async def _start_page(self, task: Task) -> LivePage:
        """A start page for a restore: a warm spare when one is ready (refilled in the background)."""
        spares = self._spares.get(task.id, [])
        live = None
        while spares and live is None:
            candidate = spares.pop()
            if candidate.generation == self.browser.generation:
                live = candidate
            else:
                await candidate.close()
        if live is not None:
            self.spare_hits += 1
        else:
            live = await self._fresh(task)
        self._refill(task)
        return live

    def _refill(self, task: Task) -> None:
        """Open spare start pages for `task` in the background, up to `spare_starts`."""
        have = len(self._spares.get(task.id, ())) + self._filling.get(task.id, 0)
        for _ in range(self.spare_starts - have):
            self._filling[task.id] = self._filling.get(task.id, 0) + 1
            job = asyncio.create_task(self._add_spare(task))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)

    async def _add_spare(self, task: Task) -> None:
        try:
            live = await asyncio.wait_for(self._fresh(task), self.step_timeout_s)
        except Exception:
            return  # a spare is an optimisation: a restore opens its own page when none is ready
        finally:
            self._filling[task.id] -= 1
        if task.id in self._tasks:
            self._spares.setdefault(task.id, []).append(live)
        else:
            await live.close()

    async def settled(self) -> None:
        """Wait until the spare start pages being opened in the background are ready."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    async def ensure_live(self, state: WebState) -> None:
        """Make `state` live in the pool (restoring it by replay if needed) without stepping it."""
        task = self._tasks.get(state.task_id)
        if task is None:
            raise StepError(f"unknown task {state.task_id!r}: call reset(task) on this environment first")
        live = await self._restore(task, state)
        await self.pool.put(state.key(), live)

    # -- the contract ----------------------------------------------------------------------------
    async def reset(self, task: Task) -> Step[WebState]:
        self._site(task)
        try:
            async with asyncio.timeout(self.step_timeout_s):
                live = await self._fresh(task)
        except TimeoutError:
            raise StepError(f"the start page of {task.id} did not load in {self.step_timeout_s} s") from None
        obs = live.observation
        assert obs is not None
        goal = str(live.meta["goal"])
        self._tasks[task.id] = task
        self._goals[task.id] = goal
        state = WebState(task.id, goal, (), (obs.fingerprint,), (), obs.text, obs.elements, obs.url)
        info: dict[str, Any] = {"url": obs.url, "goal": goal}
        await self._screenshot(live, state, info)
        await self.pool.put(state.key(), live)
        self._refill(task)
        return Step(state, obs.text, info=info)

    async def step(self, state: WebState, action: WebAction) -> Step[WebState]:
        if isinstance(action, str):
            action = self.parse_action(state, action)
        if state.done:
            raise InvalidAction("the episode is over at this node: no further action can be taken")
        task = self._tasks.get(state.task_id)
        if task is None:
            raise StepError(f"unknown task {state.task_id!r}: call reset(task) on this environment first")
        element = check_target(action, state.elements)
        irreversible = is_irreversible(action, element)
        try:
            async with asyncio.timeout(self.step_timeout_s):
                return await self._step(task, state, action, irreversible)
        except TimeoutError:
            raise StepError(f"the page hung: no answer in {self.step_timeout_s} s (its context was closed)") from None
        except StepError:
            raise
        except Exception as exc:
            if self._crashed():
                raise StepError(
                    f"the browser crashed during the step ({type(exc).__name__}); it is restarted for the next step"
                ) from None
            raise StepError(f"{action.render()} failed on the page: {_short(exc)}") from None

    def _crashed(self) -> bool:
        dead = self.pool.drop_stale(self.browser.generation)
        if not self.browser.alive or dead:
            self.crashes += 1
            return True
        return False

    async def _step(self, task: Task, state: WebState, action: WebAction, irreversible: bool) -> Step[WebState]:
        site = self._site(task)
        live = await self._restore(task, state)
        kept = False
        try:
            if action.kind != "stop":
                await apply(live, action, self.action_timeout_s)
                await settle(live, self.settle_ms, self.action_timeout_s)
            obs = await live.observe(self.max_obs_chars)
            outcome: Outcome = await site.outcome(live, task, action)
            child = WebState(
                state.task_id,
                state.goal,
                (*state.path, action),
                (*state.prints, obs.fingerprint),
                (*state.irreversible, irreversible),
                obs.text,
                obs.elements,
                obs.url,
                done=outcome.done,
                reward=outcome.reward,
                reason=outcome.reason,
                needs_judge=outcome.needs_judge,
                answer=action.text if action.kind == "stop" else None,
            )
            if outcome.needs_judge and self.judge is not None:
                verdict = min(1.0, max(0.0, float(await self.judge(task, child))))
                outcome = Outcome(True, verdict, f"the model judged the answer: {verdict:g}")
                child = dataclasses.replace(child, reward=verdict, reason=outcome.reason, needs_judge=False)
            info: dict[str, Any] = {"url": obs.url, "irreversible": irreversible, "reason": outcome.reason}
            await self._screenshot(live, child, info)
            if action.kind == "stop" or not outcome.done:
                # stop leaves the page as it was: it is still the parent's page
                await self.pool.put(state.key() if action.kind == "stop" else child.key(), live)
                kept = True
        finally:
            if not kept:
                await live.close()
        text = obs.text
        if outcome.done:
            text += f"\nEpisode over: reward {outcome.reward:g} ({outcome.reason})"
        if outcome.needs_judge:
            info["needs_judge"] = True
        return Step(child, text, reward=outcome.reward, terminal=outcome.done, info=info)

    async def _screenshot(self, live: LivePage, state: WebState, info: dict[str, Any]) -> None:
        if self.screenshots is None:
            return
        name = hashlib.sha1(state.key().encode()).hexdigest()[:16] + ".png"
        path = self.screenshots / name
        await live.page.screenshot(path=str(path), timeout=self.action_timeout_s * 1000)
        info["screenshot"] = str(path)

    async def _restore(self, task: Task, state: WebState) -> LivePage:
        site = self._site(task)

        async def fresh() -> LivePage:
            return await self._start_page(task)

        async def replay_one(live: LivePage, i: int) -> str:
            if state.irreversible[i] and not site.replay_irreversible:
                raise StepError(
                    f"restoring this state would replay {state.path[i].render()}, flagged irreversible "
                    "(it may repeat a purchase or a sent message); pass replay_irreversible=True to allow it"
                )
            await apply(live, state.path[i], self.action_timeout_s)
            await settle(live, self.settle_ms, self.action_timeout_s)
            return (await live.observe(self.max_obs_chars)).fingerprint

        async def verify(live: LivePage) -> str:
            return (await live.observe(self.max_obs_chars)).fingerprint

        return await self.pool.restore(
            state.prefix_keys(),
            state.prints,
            self.browser.generation,
            fresh,
            replay_one,
            verify if self.verify_live else None,
        )

    # -- text, actions ---------------------------------------------------------------------------
    def render(self, state: WebState) -> str:
        return state.observation

    def describe(self, task: Task) -> str:
        return self._goals.get(task.id) or task.prompt or str(task.data.get("goal", ""))

    def parse_action(self, state: WebState, text: str) -> WebAction:
        action = parse_action(text)
        check_target(action, state.elements)
        return action

    def decode_action(self, data: Any) -> WebAction:
        if isinstance(data, WebAction):
            return data
        if isinstance(data, str):
            return parse_action(data)
        try:
            return WebAction.model_validate(data)
        except ValueError as exc:
            raise InvalidAction(f"not a web action: {_short(exc)}") from None

    def encode_action(self, action: WebAction) -> Any:
        return action.model_dump(mode="json", exclude_none=True)

    def action_text(self, action: WebAction, state: WebState | None = None) -> str:
        text = action.render()
        if state is not None and action.id is not None and 1 <= action.id <= len(state.elements):
            element = state.elements[action.id - 1]
            text += f" ({element.role} {element.name[:40]!r})"
        return text

    def legal_actions(self, state: WebState) -> list[WebAction] | None:
        """In listed-actions mode, the plausible actions (listing.py); else any action goes."""
        if not self.listed_actions:
            return None
        on_user_site = self._tasks.get(state.task_id, Task(id="x")).data.get("site") == "url"
        return plausible_actions(state, with_stop=on_user_site)

    # -- lifecycle -------------------------------------------------------------------------------
    async def forget(self, task_id: str) -> None:
        """Close the live pages of a finished task (an evaluation runs many tasks in one browser)."""
        await self.pool.discard(lambda key: key == task_id or key.startswith(task_id + KEY_SEP))
        self._tasks.pop(task_id, None)
        for live in self._spares.pop(task_id, []):
            await live.close()

    def stats(self) -> dict[str, Any]:
        s = self.pool.stats
        return {
            "live_pages": len(self.pool),
            "pool_hits": s.hits,
            "replays": s.replays,
            "replayed_actions": s.replayed_actions,
            "fresh_starts": s.fresh_starts,
            "evictions": s.evictions,
            "drifted": s.drifted,
            "spare_hits": self.spare_hits,
            "browser_crashes": self.crashes,
            "browser_restarts": self.browser.restarts,
        }

    async def close(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*list(self._jobs), return_exceptions=True)
        for spares in self._spares.values():
            for live in spares:
                await live.close()
        self._spares.clear()
        await self.pool.close()
        if self._own_browser:
            await self.browser.close()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__
