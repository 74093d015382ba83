"""`treeagent show TRACE`: the tree of a search, with values, visits and the best path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from treeagent.cli.common import console, user_errors
from treeagent.search.trace import TraceError
from treeagent.search.trace_tree import TraceNode, load_tree

_STATUS_STYLE = {"failed": "red", "terminal": "cyan", "new": "dim", "open": "", "expanded": ""}


@user_errors(TraceError)
def show(
    trace: Annotated[Path, typer.Argument(help="a trace file written by a search (trace=... or --trace)")],
    max_depth: Annotated[int, typer.Option(help="deepest level to print")] = 6,
    max_children: Annotated[int, typer.Option(help="children printed per node (most visited / valued first)")] = 8,
) -> None:
    """Print the tree of the last run in TRACE: values, visits, failures and the best path."""
    tree = load_tree(trace)  # validated as view and export read it: a bad record is named, not a KeyError
    nodes = tree.nodes
    end = tree.end
    best = set(end.best_path) if end is not None else set()

    def label(node: TraceNode) -> Text:
        text = Text(f"#{node.id} ")
        text.append(node.text or ("(root)" if node.parent is None else "?"), style="bold")
        if node.value is not None:
            text.append(f"  v={node.value:.3f}", style="yellow")
        if node.visits:
            text.append(f"  n={node.visits}  q={node.value_sum / node.visits:.3f}", style="magenta")
        if node.status in ("failed", "terminal"):
            text.append(f"  [{node.status}]", style=_STATUS_STYLE[node.status])
        if node.error:
            text.append(f"  {node.error[:80]}", style="red")
        if node.id in best:
            text.stylize("green")
            text.append("  ★", style="bold green")
        return text

    def order(node_id: int) -> tuple[int, float, float]:
        n = nodes[node_id]
        return (-int(node_id in best), -n.visits, -(n.value or 0.0))

    def grow(branch: RichTree, node_id: int) -> None:
        kids = sorted(nodes[node_id].children, key=order)
        if nodes[node_id].depth >= max_depth and kids:
            branch.add(Text(f"… {len(kids)} children below depth {max_depth}", style="dim"))
            return
        for kid in kids[:max_children]:
            grow(branch.add(label(nodes[kid])), kid)
        if len(kids) > max_children:
            branch.add(Text(f"… {len(kids) - max_children} more", style="dim"))

    root = RichTree(label(tree.root))
    grow(root, tree.root.id)
    console.print(f"[bold]{tree.run.controller}[/] on task [bold]{tree.run.task.get('id')}[/] ({trace})")
    console.print(root)
    summary = Table(show_header=False, box=None)
    if end is None:
        summary.add_row(
            "status",
            "[yellow]unfinished[/] (no end record: the run was killed; resume it with the same command and --resume)",
        )
    else:
        yes, no = tree.outcome_words
        summary.add_row("outcome", f"[green]{yes}[/]" if end.solved else f"[red]{no}[/]")
        summary.add_row("stopped by", end.stop_reason)
        path = [nodes[i].text or "?" for i in end.best_path[1:] if i in nodes]
        summary.add_row("best path", " → ".join(path) or "(root)")
        stats = end.stats
        summary.add_row(
            "spent",
            f"{stats.get('expansions', 0)} expansions, {stats.get('env_steps', 0)} env steps, "
            f"{stats.get('llm_calls', 0)} LLM calls, {stats.get('tokens', 0)} tokens, "
            f"{float(stats.get('wall_seconds') or 0.0):.2f} s",
        )
    summary.add_row("nodes", str(len(nodes)))
    console.print(summary)
