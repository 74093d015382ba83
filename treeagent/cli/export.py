"""`treeagent export TRACE... --format sft|preference`: training data from search trees, as JSONL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, cast

import typer
from pydantic import BaseModel

from treeagent.cli.common import UserError, err_console, user_errors
from treeagent.search.trace import TraceError

FORMATS = ("sft", "preference")


def trace_files(paths: list[Path]) -> list[Path]:
    """The trace files named: files as given, folders as the *.jsonl files in them (eval's --traces)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise UserError(f"{path} is a folder with no *.jsonl trace files in it")
            files.extend(found)
        else:
            files.append(path)
    return files


@user_errors(TraceError, OSError)
def export(
    traces: Annotated[list[Path], typer.Argument(help="trace files written by searches, or folders of them (*.jsonl)")],
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
    """Write the last run of each TRACE as training data, one JSON object a line.

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
    step_text = cast(StepText, text)
    files = trace_files(traces)
    if out is not None and out.resolve() in {f.resolve() for f in files}:
        raise UserError(f"--out {out} is one of the traces being exported; write to another file")
    trees = [load_tree(path) for path in files]  # every file is checked before anything is written

    def records() -> Iterator[BaseModel]:
        for tree in trees:
            if kind == "sft":
                yield from sft_records(tree, step_text=step_text)
            else:
                yield from preference_pairs(
                    tree,
                    pairing=cast(Pairing, pairs),
                    min_margin=min_margin,
                    min_visits=min_visits,
                    step_text=step_text,
                )

    lines = [record.model_dump_json() for record in records()]
    body = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(body)
        sys.stdout.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
    where = str(out) if out is not None else "stdout"
    unfinished = sum(not tree.finished for tree in trees)
    note = f" ({unfinished} unfinished run{'s' if unfinished > 1 else ''}: no end record yet)" if unfinished else ""
    source = f"{len(trees)} traces" if len(trees) > 1 else str(files[0])
    err_console.print(f"wrote {len(lines)} {kind} records from {source} to {where}{note}", highlight=False)
