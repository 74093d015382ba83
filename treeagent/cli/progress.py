"""A search's events drawn on a progress bar (`run`, `solve`): the counts come from the events, and
the bar is redrawn at most ten times a second (a game search sends tens of thousands of events),
and once more when the search finishes."""

from __future__ import annotations

import time

from rich.progress import Progress, TaskID

from treeagent.search import Node, Stats
from treeagent.search.events import Expanded, Finished, LLMCalled, NodeRecorded, RunStarted, SearchEvent

_REDRAW_S = 0.1


class SearchProgress:
    """A listener for `Controller.run`: keeps the run's latest stats and node count, and draws them
    (`info`) on `bar`, whose completed count is the stats field `measure`."""

    def __init__(self, progress: Progress, bar: TaskID, measure: str) -> None:
        self.stats = Stats()
        #: nodes in the tree, the root included
        self.nodes = 1
        self._progress = progress
        self._bar = bar
        self._measure = measure
        self._drawn = 0.0

    def __call__(self, event: SearchEvent) -> None:
        if isinstance(event, NodeRecorded):
            self.saw(event.node)
        elif isinstance(event, Expanded):
            self.stats = event.stats
            self.nodes += event.children
        elif isinstance(event, LLMCalled):
            self.stats = event.stats
        elif isinstance(event, RunStarted):
            self.stats = event.spent
        elif isinstance(event, Finished):
            self.stats = event.result.stats
        now = time.monotonic()
        if now - self._drawn >= _REDRAW_S or isinstance(event, Finished):  # the last state is always drawn
            self._drawn = now
            self._progress.update(self._bar, completed=getattr(self.stats, self._measure), info=self.info())

    def saw(self, node: Node) -> None:
        """A node was stepped into the tree or changed status (for displays that show the best)."""

    def info(self) -> str:
        s = self.stats
        return f"{s.expansions} expansions · {self.nodes} nodes · {s.llm_calls} LLM calls"
