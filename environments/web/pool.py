"""Live pages kept per search state, and restoring a state that is not live by replay.

A web state is the action path from the task's start. Stepping a page moves it forward, so the page
that was a parent's becomes its child's: each live page stands for exactly one state. The pool
keeps at most `max_live` of them (least recently used ones are closed). Returning to a state that
is not live replays its remaining actions on the page of its deepest live ancestor (a fresh start
page only when none is live), checking after every replayed action that the page's fingerprint
matches the one recorded when the path was first walked; a mismatch fails loudly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from treeagent.environments.base import StepError
from treeagent.environments.web.driver import LivePage


class ReplayMismatch(StepError):
    """The replayed page differs from the recorded one: the site is not deterministic here."""


@dataclass(slots=True)
class PoolStats:
    hits: int = 0
    replays: int = 0
    replayed_actions: int = 0
    fresh_starts: int = 0
    evictions: int = 0
    stale: int = 0
    drifted: int = 0


class StatePool:
    """A bounded LRU map from state key to the live page showing that state."""

    def __init__(self, max_live: int = 8) -> None:
        if max_live < 1:
            raise ValueError(f"max_live must be at least 1, got {max_live}")
        self.max_live = max_live
        self._pages: OrderedDict[str, LivePage] = OrderedDict()
        self.stats = PoolStats()

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, key: str) -> bool:
        return key in self._pages

    def keys(self) -> list[str]:
        return list(self._pages)

    def take(self, key: str, generation: int) -> LivePage | None:
        """Remove and return the live page for `key` (None if absent or from a dead browser)."""
        live = self._pages.pop(key, None)
        if live is not None and live.generation != generation:
            self.stats.stale += 1
            return None
        return live

    async def put(self, key: str, live: LivePage) -> None:
        """Keep `live` as the page of state `key`, closing the least recently used beyond the limit."""
        old = self._pages.pop(key, None)
        if old is not None and old is not live:
            await old.close()
        self._pages[key] = live
        while len(self._pages) > self.max_live:
            _, evicted = self._pages.popitem(last=False)
            self.stats.evictions += 1
            await evicted.close()

    def drop_stale(self, generation: int) -> list[LivePage]:
        """Forget every page of a dead browser (they cannot be closed, only dropped)."""
        stale = [k for k, live in self._pages.items() if live.generation != generation]
        pages = [self._pages.pop(k) for k in stale]
        self.stats.stale += len(pages)
        return pages

    async def restore(
        self,
        prefix_keys: Sequence[str],
        prints: Sequence[str],
        generation: int,
        fresh: Callable[[], Awaitable[LivePage]],
        replay_one: Callable[[LivePage, int], Awaitable[str]],
        verify: Callable[[LivePage], Awaitable[str]] | None = None,
    ) -> LivePage:
        """A live page at the state whose path prefixes have keys `prefix_keys` (root first).

        `prints[i]` is the fingerprint recorded after i actions; `replay_one(page, i)` applies the
        i-th action (0-based) and returns the new fingerprint; `fresh()` opens the start page.
        With `verify`, a live page is re-read first: one that changed on its own since it was
        recorded (a timer, a late script) is dropped and the state is replayed instead.
        """
        target = len(prefix_keys) - 1
        live = self.take(prefix_keys[target], generation)
        if live is not None:
            try:
                same = verify is None or await verify(live) == prints[target]
            except BaseException:
                await live.close()
                raise
            if same:
                self.stats.hits += 1
                return live
            self.stats.drifted += 1
            await live.close()
        start = -1
        for depth in range(target - 1, -1, -1):
            live = self.take(prefix_keys[depth], generation)
            if live is not None:
                start = depth
                break
        if live is None:
            self.stats.fresh_starts += 1
            live = await fresh()
            if live.observation is None or live.observation.fingerprint != prints[0]:
                await live.close()
                raise ReplayMismatch(
                    "the start page differs from the one recorded at reset (the site changed or is "
                    "not deterministic); this state cannot be restored"
                )
            start = 0
        self.stats.replays += 1
        try:
            for i in range(start, target):
                self.stats.replayed_actions += 1
                got = await replay_one(live, i)
                if got != prints[i + 1]:
                    raise ReplayMismatch(
                        f"replaying action {i + 1} of {target} gave a page whose fingerprint {got} differs "
                        f"from the recorded {prints[i + 1]}: the page is not what this node saw, so the "
                        "node is failed rather than continued on the wrong page"
                    )
        except BaseException:
            await live.close()
            raise
        return live

    async def discard(self, which: Callable[[str], bool]) -> None:
        """Close the pages whose key `which` accepts."""
        for key in [k for k in self._pages if which(k)]:
            await self._pages.pop(key).close()

    async def close(self) -> None:
        pages = list(self._pages.values())
        self._pages.clear()
        for live in pages:
            await live.close()
