"""Where a web task's pages come from, and how its outcome is read.

- `MiniWobSite`: a MiniWoB++ task page from the `miniwob` wheel, served on 127.0.0.1, seeded,
  with the episode timer switched off (a search thinks for longer than 10 s) and the reward read
  from the page's own globals (`WOB_DONE_GLOBAL`, `WOB_RAW_REWARD_GLOBAL`). The instruction
  (`#query`) becomes the task's goal and is hidden from the page's text, with the score display.
- `UrlSite`: a user's task: a start URL, a goal, and a success check, either text the page must
  contain (`data.success_text`) or a Python function of the Playwright page given to the
  environment; without either, `stop(answer)` ends the episode and the model judges it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from treeagent.environments.base import StepError, Task
from treeagent.environments.web.actions import WebAction
from treeagent.environments.web.driver import LivePage

#: a success check: a function of the Playwright page returning True/False or a reward in [0, 1]
Check = Callable[[Any], bool | float | Awaitable[bool | float]]

_HIDE = "#reward-display, #click-canvas, #sync-task-cover, #query { display: none !important; }"
_START = """(seed) => {
  core.EPISODE_MAX_TIME = 1e9;
  if (seed !== null) Math.seedrandom(seed);
  core.startEpisodeReal();
  return core.getUtterance();
}"""
_READ = "() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_REASON, WOB_TASK_READY]"


@dataclass(frozen=True, slots=True)
class Outcome:
    done: bool = False
    reward: float = 0.0
    reason: str = ""
    #: nobody can tell whether the episode succeeded: the model judges it (user tasks, no check)
    needs_judge: bool = False


class MiniWobSite:
    """MiniWoB++ pages; `replay_irreversible`: a local page has no outside world to harm."""

    replay_irreversible = True

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def open(self, live: LivePage, task: Task, timeout_s: float) -> str:
        name = task.data["name"]
        await live.page.goto(f"{self.base_url}/miniwob/{name}.html", timeout=timeout_s * 1000, wait_until="load")
        await live.page.add_style_tag(content=_HIDE)
        seed = task.data.get("seed")
        goal = await live.page.evaluate(_START, None if seed is None else str(seed))
        for _ in range(100):
            ready = await live.page.evaluate(_READ)
            if ready[3]:
                break
            await asyncio.sleep(0.02)
        return str(goal)

    async def outcome(self, live: LivePage, task: Task, action: WebAction) -> Outcome:
        done, raw, reason, _ = await live.page.evaluate(_READ)
        if done:
            return Outcome(True, max(0.0, min(1.0, float(raw))), str(reason or ("success" if raw > 0 else "failed")))
        if action.kind == "stop":
            return Outcome(True, 0.0, "stopped before the task was done")
        return Outcome()


class UrlSite:
    """A user's task: start URL, goal, and a success check or the model as judge."""

    def __init__(self, checks: dict[str, Check] | None = None, replay_irreversible: bool = False) -> None:
        self.checks = dict(checks or {})
        self.replay_irreversible = replay_irreversible

    async def open(self, live: LivePage, task: Task, timeout_s: float) -> str:
        url = task.data["start_url"]
        await live.page.goto(url, timeout=timeout_s * 1000, wait_until="load")
        return str(task.data.get("goal") or task.prompt)

    async def outcome(self, live: LivePage, task: Task, action: WebAction) -> Outcome:
        check = self.checks.get(task.id)
        wanted = task.data.get("success_text")
        if check is None and not wanted:
            if action.kind == "stop":
                return Outcome(True, 0.0, "stopped; the model judges the answer", needs_judge=True)
            return Outcome()
        if check is not None:
            try:
                result = check(live.page)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                raise StepError(f"the task's success check raised {type(exc).__name__}: {exc}") from exc
            score = float(result)
        else:
            body = await live.page.evaluate("() => document.body ? document.body.innerText : ''")
            score = 1.0 if str(wanted) in body else 0.0
        if score >= 1.0:
            return Outcome(True, 1.0, "the success check passed")
        if action.kind == "stop":
            return Outcome(True, max(0.0, score), "stopped; the success check did not pass")
        return Outcome()


def describe_site(task: Task) -> str:
    return json.dumps({k: v for k, v in task.data.items() if k != "goal"}, sort_keys=True)
