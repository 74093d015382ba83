"""`treeagent view TRACE`: the search tree as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from treeagent.cli.common import UserError, console, user_errors
from treeagent.search.trace import TraceError


@user_errors(TraceError, OSError)
def view(
    trace: Annotated[Path, typer.Argument(help="a trace file written by a search (trace=... or --trace)")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="the HTML file to write (default: TRACE with .html)")
    ] = None,
) -> None:
    """Write the tree of the last run in TRACE as one HTML page that opens with no network.

    The page shows every node's action, observation, value, visits and LLM calls (prompts and
    replies), the best path, and the budget used over time. A trace still being written works.
    """
    from treeagent.viewer import write_page

    if (out if out is not None else trace.with_suffix(".html")).resolve() == trace.resolve():
        raise UserError(f"the page would overwrite the trace {trace}; pass -o PAGE.html")
    target, tree = write_page(trace, out)
    state = "finished" if tree.finished else "unfinished"
    console.print(f"wrote [bold]{target}[/] ({len(tree.nodes)} nodes, {len(tree.calls)} LLM calls, {state} run)")
