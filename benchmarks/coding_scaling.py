"""Pass@1 against budget: does search beat sampling at the same number of LLM calls?

For every problem and solver, pass@1 on the hidden tests at budgets of 1, 4, 8, 16 and 32 LLM
calls (one sampled completion = one call), with the embedded model unless --base-url names one:
- `greedy`: one call at temperature 0 (its own run).
- `best_of_n`: 32 samples (one of them greedy, as best_of_n writes it) are drawn once per problem;
  best-of-N at budget b replays best_of_n's own rule on them, the greedy sample first (batches of
  4, stop after the first batch holding a program that passes the public tests, choose by public
  tests then agreement). The same samples give the oracle: pass@k = any of the first k samples
  passes the hidden tests, the ceiling of every pure filtering method.
- anytime solvers (`test_guided`, `pgtd`): their order of calls does not depend on the budget, so
  one run at the largest budget gives every smaller one: at budget b the answer is chosen among the
  programs of the first b calls, exactly as a run stopped there would choose.
- `mcts` (LATS) depends on its budget: it runs once per budget in --mcts-budgets.
Tokens per problem at budget b are the prompt + completion tokens of those b calls (from each
run's trace). A run holding programs made without a call (test_guided's token edits) gets a
second row, `<solver> -edits`: the same run's answers with those programs left out (paired, so
free of sampling noise). The problems solved by the default solver only, and by best_of_n only,
are listed. Hidden tests are run only on chosen answers and, for the oracle, on samples; nothing
of them reaches a solver. Results are cached per problem in --out (resumable); a table, a PNG of
pass@1 against budget, and ONE JSON object on the last line are printed.

    python benchmarks/coding_scaling.py                 # all 164 HumanEval problems
    python benchmarks/coding_scaling.py --quick         # the first 20, budgets 1-16
    python benchmarks/coding_scaling.py --problems benchmarks/data/devset.jsonl   # our own dev set
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.vllm_server import serve_or_connect
from treeagent.coding import DEFAULT_SOLVER, asolve_code
from treeagent.environments.code import CodeProblem, CodeState, grade_hidden, load_humaneval, load_jsonl
from treeagent.environments.code.selection import best_index
from treeagent.sandbox import ProcessSandbox
from treeagent.search import read_records

BUDGETS = (1, 4, 8, 16, 32)
ANYTIME = ("test_guided", "pgtd")
BATCH = 4


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the first 20 problems, budgets up to 16")
    parser.add_argument("--limit", type=int, default=None, help="the first K problems")
    parser.add_argument("--problems", default=None, help="a JSONL file of problems (default: HumanEval)")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--solvers", default="best_of_n,test_guided,pgtd,mcts")
    parser.add_argument("--mcts-budgets", default=None, help="budgets mcts runs at (default: all)")
    parser.add_argument("--jobs", type=int, default=6, help="problems under way at once per solver")
    parser.add_argument("--out", type=Path, default=None, help="cache folder (default: runs/scaling-<set>)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (default: <out>/pass1_vs_budget.png)")
    parser.add_argument("--base-url", default=None)
    args = parser.parse_args()
    args.budgets = sorted({int(b) for b in args.budgets.split(",") if b.strip()})
    if args.quick:
        args.limit = args.limit or 20
        args.budgets = [b for b in args.budgets if b <= 16]
    if not args.budgets or args.budgets[0] < 1:
        parser.error("--budgets must be positive integers")
    args.solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    known = {"best_of_n", "mcts", *ANYTIME}
    if unknown := [s for s in args.solvers if s not in known]:
        parser.error(f"unknown solver(s) {unknown}; choose from {sorted(known)}")
    if "best_of_n" not in args.solvers:
        args.solvers.insert(0, "best_of_n")  # greedy and the oracle come from its samples
    mcts = args.mcts_budgets or ",".join(map(str, args.budgets))
    args.mcts_budgets = [int(b) for b in mcts.split(",") if b.strip()]
    return args


def _state_fields(state: CodeState) -> dict[str, Any]:
    return {
        "passed": state.passed,
        "total": state.total,
        "loaded": state.loaded,
        "signature": state.signature,
        "probe_errors": state.probe_errors,
        "probes": state.probes,
    }


async def _run(
    problem: CodeProblem, solver: str, budget: int, llm: LLMClient, sandbox: ProcessSandbox
) -> dict[str, Any]:
    """One solver run; every non-root node with the calls and tokens spent on it, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.jsonl"
        solution = await asolve_code(
            problem,
            solver=solver,
            budget_calls=budget,
            concurrency=BATCH,
            early_stop=solver != "best_of_n",
            llm=llm,
            sandbox=sandbox,
            trace=trace,
        )
        # Each of these solvers makes one call per node it adds, in order (a batch of samples
        # in any order within the batch): the k-th call's tokens belong to the k-th node that
        # made a call. Nodes a search made without asking the model (test_guided's token edits)
        # made none (`SearchResult.call_free`).
        spent = [
            int(r["prompt_tokens"]) + int(r["completion_tokens"]) for r in read_records(trace) if r["type"] == "llm"
        ]
    free = solution.result.call_free
    nodes, calls = [], 0
    for node in (n for n in sorted(solution.tree, key=lambda n: n.id) if n.parent is not None):
        state = node.step.state if node.step is not None else None
        is_program = isinstance(state, CodeState) and node.action is not None and node.action.kind == "program"
        program = state.program if is_program and isinstance(state, CodeState) else None
        called = node.id not in free and calls < len(spent)
        entry = {"id": node.id, "calls": int(called), "tokens": spent[calls] if called else 0, "program": program}
        calls += called
        if program is not None and isinstance(state, CodeState):
            entry.update(_state_fields(state), value=node.value if node.value is not None else 0.0)
        nodes.append(entry)
    hidden = solution.hidden
    return {
        "id": problem.id,
        "solver": solver,
        "budget": budget,
        "nodes": nodes,
        "passed": bool(hidden and hidden.passed),
        "llm_calls": solution.result.stats.llm_calls,
        "tokens": solution.result.stats.tokens,
    }


def _state(entry: dict[str, Any]) -> CodeState:
    return CodeState(program=entry["program"], **{k: entry[k] for k in _state_fields(CodeState())})


def _choose(entries: Sequence[dict[str, Any]]) -> str | None:
    programs = [e for e in entries if e.get("program") is not None]
    index = best_index([_state(e) for e in programs], [e["value"] for e in programs])
    return None if index is None else programs[index]["program"]


def _prefix(run: dict[str, Any], budget: int) -> tuple[list[dict[str, Any]], int]:
    """The nodes made within the first `budget` calls, and their tokens."""
    used, tokens, out = 0, 0, []
    for entry in run["nodes"]:
        if used + entry["calls"] > budget:
            break
        used += entry["calls"]
        tokens += entry["tokens"]
        out.append(entry)
    return out, tokens


def _best_of_n(run: dict[str, Any], budget: int) -> tuple[list[dict[str, Any]], int]:
    """best_of_n's own rule on the recorded samples: whole batches until one passes the public tests."""
    samples, tokens, taken = run["nodes"], 0, []
    while len(taken) < min(budget, len(samples)):
        batch = samples[len(taken) : min(budget, len(taken) + BATCH)]
        taken += batch
        tokens += sum(e["tokens"] for e in batch)
        if any(e.get("program") and e["total"] and e["passed"] == e["total"] and e["loaded"] for e in batch):
            break
    return taken, tokens


class Grader:
    """Hidden-test verdicts, each program graded once."""

    def __init__(self, sandbox: ProcessSandbox) -> None:
        self.sandbox = sandbox
        self.cache: dict[tuple[str, str], bool] = {}

    async def passed(self, problem: CodeProblem, program: str | None) -> bool:
        if program is None:
            return False
        key = (problem.id, program)
        if key not in self.cache:
            verdict = await grade_hidden(self.sandbox, problem, program)
            self.cache[key] = bool(verdict and verdict.passed)
        return self.cache[key]


async def main() -> dict[str, Any]:
    args = _args()
    if args.problems:
        problems = load_jsonl(args.problems, limit=args.limit)
        name = Path(args.problems).stem
    else:
        problems = load_humaneval(limit=args.limit)
        name = "humaneval"
    out = args.out or Path("runs") / f"scaling-{name}"
    out.mkdir(parents=True, exist_ok=True)
    top = max(args.budgets)
    print(
        f"{len(problems)} problems ({name}), budgets {args.budgets}, solvers {args.solvers}; cache {out}/", flush=True
    )
    started = time.perf_counter()
    async with (
        serve_or_connect(args.base_url) as server,
        LLMClient(LLMConfig.load(base_urls=server.base_url, request_timeout_s=300)) as llm,
        ProcessSandbox(workers=2) as sandbox,
    ):
        jobs: list[tuple[str, int]] = [("greedy", 1)]
        for solver in args.solvers:
            if solver == "mcts":
                jobs += [("mcts", b) for b in args.mcts_budgets]
            else:
                jobs.append((solver, top))
        runs: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        gate = asyncio.Semaphore(args.jobs * 2)

        async def cell(solver: str, budget: int) -> None:
            path = out / f"{solver}-{budget}.jsonl"
            done = {}
            if path.exists():
                for line in path.read_text().splitlines():
                    row = json.loads(line)
                    done[row["id"]] = row
            runs[(solver, budget)] = done

            async def one(problem: CodeProblem) -> None:
                if problem.id in done:
                    return
                async with gate:
                    row = await _run(problem, solver, budget, llm, sandbox)
                done[problem.id] = row
                with path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")

            await asyncio.gather(*(one(p) for p in problems))
            print(f"  {solver} at {budget}: {len(done)} problems ({time.perf_counter() - started:.0f} s)", flush=True)

        await asyncio.gather(*(cell(s, b) for s, b in jobs))
        grader = Grader(sandbox)
        solved: dict[tuple[str, int], set[str]] = {}
        table = await _tabulate(problems, runs, args, grader, solved)
    wall = time.perf_counter() - started
    return _report(table, problems, args, out, wall, solved)


def _calls_only(run: dict[str, Any], budget: int) -> tuple[list[dict[str, Any]], int]:
    """`_prefix` with the programs made without a model call (token edits) left out: the same run's
    answer had it made none, a paired measure of what the call-free programs add."""
    entries, tokens = _prefix(run, budget)
    return [e for e in entries if e["calls"]], tokens


async def _tabulate(
    problems: Sequence[CodeProblem],
    runs: dict[tuple[str, int], dict[str, dict[str, Any]]],
    args: Any,
    grader: Grader,
    solved: dict[tuple[str, int], set[str]],
) -> dict[str, dict[int, tuple[float, float]]]:
    """solver -> budget -> (pass@1, tokens per problem); plus 'oracle' -> k -> (pass@k, 0) and, for a
    run with call-free programs, '<solver> -edits' (the same run without them). `solved` gets the
    ids each (row, budget) solved."""
    table: dict[str, dict[int, tuple[float, float]]] = {}
    n = len(problems)
    samples = runs[("best_of_n", max(args.budgets))]
    greedy = runs[("greedy", 1)]
    for problem in problems:  # best_of_n's greedy sample goes first, as it is in its first batch
        nodes = samples[problem.id]["nodes"]
        first = next((e for e in greedy[problem.id]["nodes"] if e.get("program")), None)
        match = [i for i, e in enumerate(nodes) if first and e.get("program") == first["program"]]
        if match:
            nodes.insert(0, nodes.pop(match[0]))

    async def score(pick: Any, key: str, budget: int, source: dict[str, dict[str, Any]]) -> None:
        ids, tokens = solved.setdefault((key, budget), set()), 0
        for problem in problems:
            entries, spent = pick(source[problem.id], budget)
            if await grader.passed(problem, _choose(entries)):
                ids.add(problem.id)
            tokens += spent
        table.setdefault(key, {})[budget] = (len(ids) / n, tokens / n)

    for budget in args.budgets:
        await score(lambda run, b: _prefix(run, 1), "greedy", budget, greedy)
        await score(_best_of_n, "best_of_n", budget, samples)
        for solver in args.solvers:
            if solver in ANYTIME:
                run = runs[(solver, max(args.budgets))]
                await score(_prefix, solver, budget, run)
                if any(not e["calls"] for r in run.values() for e in r["nodes"]):
                    await score(_calls_only, f"{solver} -edits", budget, run)
            elif solver == "mcts" and ("mcts", budget) in runs:
                source = runs[("mcts", budget)]
                await score(lambda run, b: (run["nodes"], run["tokens"]), "mcts", budget, source)
        hits = 0
        for problem in problems:
            firsts = [e["program"] for e in samples[problem.id]["nodes"][:budget]]
            hits += any([await grader.passed(problem, p) for p in firsts])
        table.setdefault("oracle", {})[budget] = (hits / n, 0.0)
    return table


def _report(
    table: dict[str, dict[int, tuple[float, float]]],
    problems: Sequence[CodeProblem],
    args: Any,
    out: Path,
    wall: float,
    solved: dict[tuple[str, int], set[str]],
) -> dict[str, Any]:
    budgets = args.budgets
    n = len(problems)
    head = f"{'solver':<19}" + "".join(f"{'@' + str(b):>9}" for b in budgets) + f"{'tokens@' + str(_mid(budgets)):>12}"
    print(f"\npass@1 on the hidden tests ({n} problems), by budget of LLM calls per problem")
    print(head)
    print("-" * len(head))
    for solver, row in table.items():
        cells = "".join(f"{row[b][0]:>9.3f}" if b in row else f"{'-':>9}" for b in budgets)
        mid = row.get(_mid(budgets))
        tokens = f"{mid[1]:>12.0f}" if mid and solver != "oracle" else f"{'':>12}"
        label = "oracle pass@k" if solver == "oracle" else solver
        print(f"{label:<19}{cells}{tokens}")
    at = 16 if 16 in budgets else _mid(budgets)
    mine, theirs = solved.get((DEFAULT_SOLVER, at), set()), solved.get(("best_of_n", at), set())
    if (DEFAULT_SOLVER, at) in solved:  # which problems differ: the noise in a table is a few of them
        only = f"solved by {DEFAULT_SOLVER} only {sorted(mine - theirs)}; by best_of_n only {sorted(theirs - mine)}"
        print(f"at {at}: {only}")
    plot = args.plot or out / "pass1_vs_budget.png"
    _plot({k: v for k, v in table.items() if not k.endswith(" -edits")}, budgets, plot, n)
    result: dict[str, Any] = {"problems": n, "budgets": budgets, "wall_s": round(wall, 1), "plot": str(plot)}
    for solver, row in table.items():
        if solver == "oracle":
            continue
        result[f"pass1_at_{at}"] = {**result.get(f"pass1_at_{at}", {}), solver: _r(row.get(at))}
        result[f"tokens_per_problem_at_{at}"] = {
            **result.get(f"tokens_per_problem_at_{at}", {}),
            solver: round(row[at][1], 1) if at in row else None,
        }
        result[f"{solver}_by_budget"] = {str(b): round(row[b][0], 4) for b in budgets if b in row}
    result[f"oracle_pass_at_{at}"] = _r(table["oracle"].get(at))
    result["default_solver"] = DEFAULT_SOLVER
    default, bon = table.get(DEFAULT_SOLVER, {}).get(at), table["best_of_n"].get(at)
    result[f"default_minus_best_of_n_at_{at}"] = round(default[0] - bon[0], 4) if default and bon else None
    return result


def _r(cell: tuple[float, float] | None) -> float | None:
    return None if cell is None else round(cell[0], 4)


def _mid(budgets: Sequence[int]) -> int:
    return 16 if 16 in budgets else budgets[len(budgets) // 2]


def _plot(table: dict[str, dict[int, tuple[float, float]]], budgets: Sequence[int], path: Path, n: int) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot; pip install 'treeagent[integrations]')")
        return
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for solver, row in table.items():
        xs = [b for b in budgets if b in row]
        style = {"linestyle": "--", "color": "grey"} if solver == "oracle" else {"marker": "o"}
        label = "oracle pass@k (any of k samples)" if solver == "oracle" else solver
        ax.plot(xs, [row[b][0] for b in xs], label=label, **style)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(budgets), [str(b) for b in budgets])
    ax.set_xlabel("LLM calls per problem (sampled completions)")
    ax.set_ylabel("pass@1, hidden tests")
    ax.set_title(f"pass@1 against budget ({n} problems, SmolLM2-135M)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    summary = asyncio.run(main())
    sys.stdout.flush()
    print(json.dumps(summary))
