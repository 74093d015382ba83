"""`treeagent export TRACE --format sft|preference`: training data from a search tree, as JSONL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from treeagent.cli.common import UserError, err_console, user_errors
from treeagent.search.trace import TraceError

FORMATS = ("sft", "preference")


@user_errors(TraceError, OSError)
def export(
    trace: Annotated[Path, typer.Argument(help="a trace file written by a search (trace=... or --trace)")],
    kind: Annotated[
        str,
        typer.Option("--format", "-f", help="sft: solved trajectories; preference: sibling (chosen, rejected) pairs"),
    ] = "sft",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="the JSONL file to write (default: stdout)")] = None,
    text: Annotated[
        str, typer.Option(help="assistant turns: reply (the model's words, else the action) or action")
    ] = "reply",
    pairs: Annotated[str, typer.Option(help="preference: best (best sibling vs each worse one) or all")] = "best",
    min_margin: Annotated[float, typer.Option(min=0.0, help="preference: least value gap of a pair (exclusive)")] = 0.0,
    min_visits: Annotated[int, typer.Option(min=0, help="preference: least MCTS visits of a sibling")] = 0,
) -> None:
    """Write the last run in TRACE as training data, one JSON object a line.

    The schema is the pydantic models in treeagent.export.schema (SFTRecord, PreferencePair).
    """
    from treeagent.export import preference_pairs, sft_records
    from treeagent.export.build import Pairing, StepText
    from treeagent.search.trace_tree import load_tree

    if kind not in FORMATS:
        raise UserError(f"unknown format {kind!r}; choose one of: {', '.join(FORMATS)}")
    if text not in ("reply", "action"):
        raise UserError(f"unknown --text {text!r}; choose reply or action")
    if pairs not in ("best", "all"):
        raise UserError(f"unknown --pairs {pairs!r}; choose best or all")
    tree = load_tree(trace)
    records: Any
    step_text = cast(StepText, text)
    if kind == "sft":
        records = sft_records(tree, step_text=step_text)
    else:
        records = preference_pairs(
            tree, pairing=cast(Pairing, pairs), min_margin=min_margin, min_visits=min_visits, step_text=step_text
        )
    lines = [record.model_dump_json() for record in records]
    body = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(body)
        sys.stdout.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
    where = str(out) if out is not None else "stdout"
    note = "" if tree.finished else " (the run is unfinished: its trace has no end record yet)"
    err_console.print(f"wrote {len(lines)} {kind} records to {where}{note}", highlight=False)
