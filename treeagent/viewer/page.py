"""`treeagent view`: one self-contained HTML page showing a search tree from its trace.

The page needs no network: the script, the style and the tree (as JSON) are inlined. The script
renders lazily (a node's children are built when it is opened, a hundred at a time), so a
10,000-node tree opens as fast as a small one.
"""

from __future__ import annotations

import html
import json
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from treeagent.search.trace_tree import TraceNode, TraceTree, load_tree, paused_gc

#: most points of the budget-over-time chart (the series is thinned evenly beyond this)
CHART_POINTS = 400


def _asset(name: str) -> str:
    return files("treeagent.viewer").joinpath(name).read_text(encoding="utf-8")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _node(node: TraceNode) -> dict[str, Any]:
    """A node in the page's compact form (short keys: 10,000 of these are embedded)."""
    out: dict[str, Any] = {"i": node.id, "p": node.parent, "d": node.depth, "a": node.text, "s": node.status}
    optional = {
        "v": _round(node.value),
        "n": node.visits or None,
        "q": _round(node.q),
        "r": _round(node.reward),
        "x": node.terminal or None,
        "e": node.error,
        "o": node.observation,
        "m": node.mover,
        "pr": _round(node.prior),
        "g": node.give_up or None,
        "c": node.calls or None,
    }
    if node.parent is not None and node.action is not None:
        optional["ac"] = json.dumps(node.action, ensure_ascii=False, default=str)
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _usage(tree: TraceTree) -> list[list[float | int | None]]:
    points = tree.usage
    if len(points) > CHART_POINTS:
        step = len(points) / CHART_POINTS
        points = [points[int(i * step)] for i in range(CHART_POINTS)] + [points[-1]]
    return [[p.t, p.expansions, p.nodes, p.evaluations, p.llm_calls, p.tokens] for p in points]


def payload(tree: TraceTree) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    run = tree.run
    end = tree.end
    calls = [
        {
            "node": c.node,
            "tag": c.tag,
            "n": c.n,
            "pt": c.prompt_tokens,
            "ct": c.completion_tokens,
            "cached": c.cached_tokens,
            "lat": c.latency_s,
            "t": c.t,
            "finish": c.finish_reasons,
            "texts": c.texts,
            "messages": c.messages,
            "replayed": c.replayed,
        }
        for c in tree.calls
    ]
    return {
        "meta": {
            "trace": str(tree.path),
            "controller": run.controller,
            "task": run.task,
            "env": run.env,
            "seed": run.seed,
            "config": run.config,
            "started": run.time,
            "resumed": run.resumed,
            "runs": tree.runs,
            "finished": tree.finished,
            "torn_tail": tree.torn_tail,
            "solved": end.solved if end else None,
            "outcome_words": list(tree.outcome_words),
            "stop_reason": end.stop_reason if end else None,
            "stats": end.stats if end else None,
            "tree_nodes": end.nodes if end else None,
        },
        "nodes": [_node(n) for n in tree.nodes.values()],
        "best_path": tree.best_path(),
        "calls": calls,
        "lessons": [{"node": lesson.node, "text": lesson.text} for lesson in tree.lessons],
        "usage": _usage(tree),
        "limits": run.config.get("budget", {}),
    }


def render(tree: TraceTree) -> str:
    """The page for `tree`, as one HTML string."""
    with paused_gc():
        data = json.dumps(payload(tree), ensure_ascii=False, separators=(",", ":"), default=str)
    # inside <script>, "<" is the only character that can end the element early
    data = data.replace("<", "\\u003c")
    title = f"{tree.run.controller} on {tree.run.task.get('id', '?')} — treeagent"
    page = _asset("viewer.html")
    for marker, value in (
        ("{{TITLE}}", html.escape(title)),
        ("{{STYLE}}", _asset("viewer.css")),
        ("{{SCRIPT}}", _asset("viewer.js")),
    ):
        page = page.replace(marker, value)
    return page.replace("{{DATA}}", data)


def write_page(trace: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> tuple[Path, TraceTree]:
    """Read `trace` and write its page to `out` (default: the trace's path with .html); returns both."""
    tree = load_tree(trace)
    target = Path(out) if out is not None else Path(trace).with_suffix(".html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(tree), encoding="utf-8")
    return target, tree
