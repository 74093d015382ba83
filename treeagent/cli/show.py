"""`treeagent show TRACE`: the tree of a search, with values, visits and the best path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from treeagent.cli.common import console, user_errors
from treeagent.search.trace import TraceError, last_run

_STATUS_STYLE = {"failed": "red", "terminal": "cyan", "new": "dim", "open": "", "expanded": ""}


@user_errors(TraceError)
def show(
    trace: Annotated[Path, typer.Argument(help="a trace file written by a search (trace=... or --trace)")],
    max_depth: Annotated[int, typer.Option(help="deepest level to print")] = 6,
    max_children: Annotated[int, typer.Option(help="children printed per node (most visited / valued first)")] = 8,
) -> None:
    """Print the tree of the last run in TRACE: values, visits, failures and the best path."""
    records = last_run(trace)
    run = records[0]
    nodes: dict[int, dict[str, Any]] = {}
    children: dict[int, list[int]] = {}
    for rec in records:
        if rec["type"] == "node":
            if rec["id"] not in nodes and rec["parent"] is not None:
                children.setdefault(rec["parent"], []).append(rec["id"])
            nodes[rec["id"]] = {**nodes.get(rec["id"], {}), **rec}
        elif rec["type"] == "value" and rec["node"] in nodes:
            nodes[rec["node"]]["value"] = rec["value"]
    end = next((r for r in reversed(records) if r["type"] == "end"), None)
    if end is not None:
        for node_id, visits, value_sum, value in end.get("visits", []):
            if node_id in nodes:
                nodes[node_id].update(visits=visits, value_sum=value_sum, value=value)
    best = set(end["best_path"]) if end else set()
    if 0 not in nodes:
        raise TraceError(f"{trace} has a run record but no root node; the run was killed before it began")

    def label(node: dict[str, Any]) -> Text:
        text = Text(f"#{node['id']} ")
        text.append(node.get("text") or ("(root)" if node["parent"] is None else "?"), style="bold")
        value = node.get("value")
        if value is not None:
            text.append(f"  v={value:.3f}", style="yellow")
        if node.get("visits"):
            text.append(f"  n={node['visits']}  q={node['value_sum'] / node['visits']:.3f}", style="magenta")
        status = node.get("status", "")
        if status in ("failed", "terminal"):
            text.append(f"  [{status}]", style=_STATUS_STYLE[status])
        if node.get("error"):
            text.append(f"  {node['error'][:80]}", style="red")
        if node["id"] in best:
            text.stylize("green")
            text.append("  ★", style="bold green")
        return text

    def order(node_id: int) -> tuple[int, float, float]:
        n = nodes[node_id]
        return (-int(node_id in best), -(n.get("visits") or 0), -(n.get("value") or 0.0))

    def grow(branch: RichTree, node_id: int) -> None:
        kids = sorted(children.get(node_id, []), key=order)
        if nodes[node_id]["depth"] >= max_depth and kids:
            branch.add(Text(f"… {len(kids)} children below depth {max_depth}", style="dim"))
            return
        for kid in kids[:max_children]:
            grow(branch.add(label(nodes[kid])), kid)
        if len(kids) > max_children:
            branch.add(Text(f"… {len(kids) - max_children} more", style="dim"))

    root = RichTree(label(nodes[0]))
    grow(root, 0)
    console.print(f"[bold]{run.get('controller')}[/] on task [bold]{run.get('task', {}).get('id')}[/] ({trace})")
    console.print(root)
    summary = Table(show_header=False, box=None)
    if end is None:
        summary.add_row(
            "status", "[yellow]unfinished[/] (no end record: the run was killed; resume it with resume=True)"
        )
    else:
        summary.add_row("solved", "[green]yes[/]" if end["solved"] else "[red]no[/]")
        summary.add_row("stopped by", end["stop_reason"])
        summary.add_row("best path", " → ".join(end["best_actions"]) or "(root)")
        stats = end["stats"]
        summary.add_row(
            "spent",
            f"{stats['expansions']} expansions, {stats['env_steps']} env steps, {stats['llm_calls']} LLM calls, "
            f"{stats['tokens']} tokens, {stats['wall_seconds']:.2f} s",
        )
    summary.add_row("nodes", str(len(nodes)))
    console.print(summary)
