"""A live page and the browser actions applied to it.

An element id from the observation is turned into a Playwright locator by tagging the DOM node
(found through CDP from its backend node id) with a `data-treeagent` attribute, so clicks, typing
and selection get Playwright's own waiting and actionability checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from treeagent.environments.base import StepError
from treeagent.environments.web.actions import WebAction
from treeagent.environments.web.observe import Observation, observe

_TAG = "data-treeagent"
_tags = itertools.count(1)
_MARK_JS = (
    "function(tag) { const el = this.nodeType === 1 ? this : this.parentElement;"
    f" if (!el) return false; el.setAttribute('{_TAG}', tag); return true; }}"
)


@dataclass(slots=True, eq=False)
class LivePage:
    """One page in its own browser context, with the CDP session that reads its accessibility tree."""

    context: Any
    page: Any
    cdp: Any
    generation: int
    observation: Observation | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    async def observe(self, max_chars: int) -> Observation:
        self.observation = await observe(self.page, self.cdp, max_chars)
        return self.observation

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may be gone already
            await asyncio.wait_for(self.context.close(), 5)


async def open_page(browser: Any) -> LivePage:
    context = await browser.context()
    try:  # cancelled half-way (a background spare when the environment closes): no context left open
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
    except BaseException:
        with contextlib.suppress(Exception):
            await context.close()
        raise
    return LivePage(context, page, cdp, browser.generation)


async def _locator(live: LivePage, element_id: int) -> Any:
    obs = live.observation
    backend = obs.backend.get(element_id) if obs is not None else None
    if backend is None:
        raise StepError(f"element [{element_id}] has no DOM node on this page")
    resolved = await live.cdp.send("DOM.resolveNode", {"backendNodeId": backend})
    object_id = resolved["object"]["objectId"]
    tag = str(next(_tags))
    marked = await live.cdp.send(
        "Runtime.callFunctionOn",
        {"objectId": object_id, "functionDeclaration": _MARK_JS, "arguments": [{"value": tag}], "returnByValue": True},
    )
    if not marked.get("result", {}).get("value"):
        raise StepError(f"element [{element_id}] is not part of the page any more")
    return live.page.locator(f"[{_TAG}='{tag}']")


# `mouse.wheel` returns before the page has scrolled: wait (in short ticks, at most ~1 s) for the
# scroll to start and to stop, then one tick more so the page's own scroll handlers have run.
_SCROLL_DONE_JS = """async (before) => {
  const tick = () => new Promise((done) => setTimeout(done, 16));
  for (let i = 0; i < 30 && window.scrollY === before; i++) await tick();
  let last = NaN;
  for (let i = 0; i < 30 && window.scrollY !== last; i++) { last = window.scrollY; await tick(); }
  await tick();
}"""


async def apply(live: LivePage, action: WebAction, timeout_s: float) -> None:
    """Perform `action` on the live page (not `stop`, which changes nothing on the page)."""
    page = live.page
    ms = timeout_s * 1000
    kind = action.kind
    if kind == "click":
        assert action.id is not None
        await (await _locator(live, action.id)).click(timeout=ms)
    elif kind == "type":
        assert action.id is not None and action.text is not None
        target = await _locator(live, action.id)
        await target.fill("", timeout=ms)
        await target.press_sequentially(action.text, timeout=ms)
    elif kind == "select":
        assert action.id is not None and action.text is not None
        target = await _locator(live, action.id)
        try:
            await target.select_option(label=action.text, timeout=ms)
        except Exception:
            await target.select_option(value=action.text, timeout=ms)
    elif kind == "press":
        await page.keyboard.press(action.text or "")
    elif kind == "scroll":
        height = page.viewport_size["height"] if page.viewport_size else 600
        before = await page.evaluate("window.scrollY")
        await page.mouse.wheel(0, (-0.8 if action.text == "up" else 0.8) * height)
        await page.evaluate(_SCROLL_DONE_JS, before)
    elif kind == "goto":
        await page.goto(action.text or "", timeout=ms, wait_until="domcontentloaded")
    elif kind == "back":
        await page.go_back(timeout=ms, wait_until="domcontentloaded")


async def settle(live: LivePage, settle_ms: int, timeout_s: float) -> None:
    """Let the page finish reacting: a navigation's load, then a short quiet period."""
    try:
        await live.page.wait_for_load_state("domcontentloaded", timeout=timeout_s * 1000)
    except Exception as exc:
        raise StepError(f"the page did not finish loading in {timeout_s} s: {exc}") from None
    if settle_ms > 0:
        await asyncio.sleep(settle_ms / 1000.0)
