"""Search events: what a run reports as it goes, to a progress display or an experiment runner.

Pass a listener (any callable taking one event) to `Controller.run(env, task, listener=...)`. It
is called at the points that write the trace, in order, synchronously in the event loop: keep it
cheap (count, remember, update a progress bar; no blocking I/O). Nobody needs to poll a live tree.

- `RunStarted` first; `NodeRecorded` for the root and for every node once it is stepped (or has
  failed), and again when its status changes (a node whose policy raised fails); a child made
  lazily (MCTS on a game) is reported when first selected and stepped. `Expanded` once per
  expansion the budget counted (also one whose policy raised: no children), after its children
  were made; `LLMCalled` once per model request charged to the run; `Finished` last, with the
  result. A run that raises (a search stopped by a misconfigured endpoint, say) ends without
  `Finished`.
- Stats in events are copies taken when the event was sent.
- A listener that raises does not stop the search, which is worth more than its display: the
  first failure is logged with its traceback, later ones are counted, and the count is logged
  when the run ends.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from treeagent.search.budget import Budget, Stats
from treeagent.search.node import Node
from treeagent.search.result import SearchResult

logger = logging.getLogger("treeagent.search")


@dataclass(frozen=True, slots=True)
class RunStarted:
    controller: str
    task_id: str
    budget: Budget
    #: what the earlier runs of a resumed search spent (it counts toward this run's budget)
    spent: Stats


@dataclass(frozen=True, slots=True)
class NodeRecorded:
    """A node entered the tree stepped, or its status changed; `node` is the live node."""

    node: Node


@dataclass(frozen=True, slots=True)
class Expanded:
    """The policy was asked at `node` (or its answer replayed from the trace) and `children`
    children were made; `stats` counts this expansion."""

    node: Node
    children: int
    replayed: bool
    stats: Stats


@dataclass(frozen=True, slots=True)
class LLMCalled:
    """One model request was charged: `calls` sampled completions, for node `node` (None: no node)."""

    node: int | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    tag: str | None
    stats: Stats


@dataclass(frozen=True, slots=True)
class Finished:
    result: SearchResult


SearchEvent: TypeAlias = RunStarted | NodeRecorded | Expanded | LLMCalled | Finished
Listener: TypeAlias = Callable[[SearchEvent], object]


class Events:
    """Delivers one run's events to its listener, keeping the listener's faults out of the search."""

    __slots__ = ("failures", "listener")

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.failures = 0

    def emit(self, event: SearchEvent) -> None:
        try:
            self.listener(event)
        except Exception:
            self.failures += 1
            if self.failures == 1:
                logger.warning(
                    "the search's event listener %s raised on %s; the search goes on without that event",
                    _name(self.listener),
                    type(event).__name__,
                    exc_info=True,
                )

    def close(self) -> None:
        """Log how often the listener failed, when it failed more than the once already logged."""
        if self.failures > 1:
            logger.warning("the search's event listener %s raised %d times in all", _name(self.listener), self.failures)


def snapshot(stats: Stats) -> Stats:
    return dataclasses.replace(stats)


def _name(listener: Listener) -> str:
    return str(getattr(listener, "__qualname__", None) or type(listener).__name__)
