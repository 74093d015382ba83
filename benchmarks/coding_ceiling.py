"""The ceiling of selection: on how many problems did ANY program a run wrote pass the hidden tests?

`coding_scaling.py` caches every program each solver wrote, in order (`<out>/<solver>-<budget>.jsonl`).
This script reads one or more such folders, grades every distinct program on the hidden tests once,
and prints on how many problems some program passes. No answer chosen from those programs can
score higher, whatever the selection rule: a pass@1 goal above this figure needs programs the
runs never wrote. It also says which programs held the passes: those written by a call (samples,
rollouts, revisions) or only by call-free token edits, and which problems only one source solved.
Hidden tests run here, after the runs, on programs already written; nothing reaches a solver.

    python benchmarks/coding_ceiling.py runs/scaling-humaneval*             # HumanEval runs
    python benchmarks/coding_ceiling.py runs/dev --problems benchmarks/data/devset.jsonl
    python benchmarks/coding_ceiling.py runs/scaling-humaneval --quick     # the first 20 problems

The last line is ONE JSON object: programs graded, problems, problems solved by any program, the
ceiling as a pass@1, and the problems solved per source (folder/solver).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from coding_scaling import Grader  # the benchmark's own hidden-test grader (one verdict per program)

from treeagent.environments.code import CodeProblem, load_humaneval, load_jsonl
from treeagent.sandbox import ProcessSandbox


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="coding_scaling.py output folders")
    parser.add_argument("--problems", default=None, help="the runs' JSONL problem file (default: HumanEval)")
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers")
    parser.add_argument("--quick", action="store_true", help="the runs' first 20 problems")
    args = parser.parse_args()
    for folder in args.folders:
        if not folder.is_dir() or not any(folder.glob("*-*.jsonl")):
            parser.error(f"{folder} holds no <solver>-<budget>.jsonl files: give coding_scaling.py's --out folder")
    return args


def collect(folders: list[Path]) -> dict[str, dict[str, set[tuple[str, bool]]]]:
    """problem id -> program -> {(source, written by a call)}, over every cached run (a problem
    the runs wrote no program for is there too, with none)."""
    programs: dict[str, dict[str, set[tuple[str, bool]]]] = defaultdict(lambda: defaultdict(set))
    for folder in folders:
        for path in sorted(folder.glob("*-*.jsonl")):
            source = f"{folder.name}/{path.stem.rsplit('-', 1)[0]}"
            for number, line in enumerate(path.read_text().splitlines(), 1):
                try:
                    run = json.loads(line)
                    texts = programs[run["id"]]
                    for node in run["nodes"]:
                        if node.get("program"):
                            texts[node["program"]].add((source, bool(node["calls"])))
                except (ValueError, KeyError, TypeError) as error:
                    sys.exit(f"error: {path}:{number} is not a coding_scaling.py run record ({error!r})")
    return programs


async def main() -> dict[str, Any]:
    args = _args()
    try:
        problems = {p.id: p for p in (load_jsonl(args.problems) if args.problems else load_humaneval())}
    except Exception as error:  # a missing or malformed problem file: one clear line
        sys.exit(f"error: {error}")
    programs = collect(args.folders)
    if args.quick:
        programs = dict(list(programs.items())[:20])
    if unknown := sorted(set(programs) - set(problems)):
        sys.exit(f"error: the runs hold problems the problem set lacks ({unknown[:3]}...): pass the runs' --problems")
    started = time.perf_counter()
    solved: dict[str, set[tuple[str, bool]]] = {}
    async with ProcessSandbox(workers=args.workers) as sandbox:
        grader = Grader(sandbox)
        for pid, texts in programs.items():
            problem: CodeProblem = problems[pid]
            verdicts = await asyncio.gather(*(grader.passed(problem, text) for text in texts))
            for (_, sources), ok in zip(texts.items(), verdicts, strict=True):
                if ok:
                    solved.setdefault(pid, set()).update(sources)
    by_source: dict[str, list[str]] = {s: [] for t in programs.values() for ss in t.values() for s, _ in ss}
    single: dict[str, str] = {}
    for pid, sources in solved.items():
        names = {s for s, _ in sources}
        for source in names:
            by_source[source].append(pid)
        if len(names) == 1:
            single[pid] = names.pop()
    edits_only = sorted(pid for pid, sources in solved.items() if not any(called for _, called in sources))
    graded = sum(len(t) for t in programs.values())
    n = len(programs)  # the problems the runs attempted (a --limit run is not judged on the rest)
    print(f"{graded} distinct programs on {n} problems, graded in {time.perf_counter() - started:.0f} s")
    print(f"solved by some program: {len(solved)}/{n} = {len(solved) / n:.3f} (no selection rule can score more)")
    for source in sorted(by_source):
        print(f"  {source:40s} {len(by_source[source]):4d}")
    print(f"solved only by call-free edits: {edits_only or 'none'}")
    print(f"solved by one source only: {dict(sorted(single.items())) or 'none'}")
    summary = {
        "programs": graded,
        "problems": n,
        "solved_by_any": len(solved),
        "ceiling_pass1": round(len(solved) / n, 4),
        "edits_only": edits_only,
        "solved_by_source": {s: len(p) for s, p in sorted(by_source.items())},
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    asyncio.run(main())
