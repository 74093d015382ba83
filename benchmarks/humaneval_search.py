"""The lift tree search gives a small model on HumanEval, measured on the hidden tests.

Every solver (greedy, best-of-N and the tree solvers) runs on the same problems at the same budget
of LLM calls per problem (one sampled completion = one call; greedy uses one), with the embedded
model (started here when no endpoint is configured). A solver may read only the prompt and the
public tests (the docstring examples); its chosen answer is run on the official hidden tests once,
at the end. Per-solver results go to resumable JSONL files, so a long run (all 164 problems) can be
stopped and continued. Prints pass@1, public-test passes, calls, tokens and wall time per problem
side by side, then one JSON object on the last line.

    python benchmarks/humaneval_search.py --limit 20 [--budget-calls 8] [--solvers greedy,best_of_n,mcts]
    python benchmarks/humaneval_search.py --quick        # 2 problems, budget 4: about a minute
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.vllm_server import serve_or_connect
from treeagent.coding import SOLVERS, EvalSummary, run_eval
from treeagent.environments.code import load_humaneval
from treeagent.sandbox import ProcessSandbox


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 problems at budget 4 (about a minute)")
    parser.add_argument("--limit", type=int, default=None, help="the first K HumanEval problems (default: all 164)")
    parser.add_argument("--budget-calls", type=int, default=8, help="LLM calls per problem for every solver")
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated; greedy is always run")
    parser.add_argument("--jobs", type=int, default=2, help="problems under way at once per solver")
    parser.add_argument("--concurrency", type=int, default=2, help="model requests under way at once per problem")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: runs/bench-humaneval-B)")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (default: embedded model)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.limit = args.limit or 2
        args.budget_calls = 4
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        parser.error(f"unknown solver(s) {', '.join(unknown)}; choose from {', '.join(SOLVERS)}")
    args.solvers = ["greedy", *(s for s in solvers if s != "greedy")]
    if args.budget_calls < 1 or (args.limit is not None and args.limit < 1) or args.jobs < 1:
        parser.error("--budget-calls, --limit and --jobs must be at least 1")
    return args


async def main() -> dict[str, Any]:
    args = _args()
    problems = load_humaneval(limit=args.limit)
    out = args.out or Path("runs") / f"bench-humaneval-{args.budget_calls}"
    with_public = sum(1 for p in problems if p.public_tests)
    print(
        f"{len(problems)} HumanEval problems ({with_public} with public tests from their docstrings), "
        f"{args.budget_calls} LLM calls per problem, results in {out}/",
        flush=True,
    )
    started = time.perf_counter()
    async with (
        serve_or_connect(args.base_url) as server,
        LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm,
        ProcessSandbox(workers=2) as sandbox,
    ):

        async def one(solver: str) -> EvalSummary:
            return await run_eval(
                problems,
                llm=llm,
                sandbox=sandbox,
                solver=solver,
                budget_calls=args.budget_calls,
                out=out / f"{solver}.jsonl",
                jobs=args.jobs,
                seed=args.seed,
                concurrency=args.concurrency,
            )

        # All solvers at once: the engine batches their requests; each solver's own figures are
        # its problems' calls, tokens and wall times.
        summaries = await asyncio.gather(*(one(s) for s in args.solvers))
    wall = time.perf_counter() - started
    n = len(problems)
    header = f"{'solver':<12}{'pass@1':>8}{'public ok':>11}{'calls/pb':>10}{'tokens/pb':>11}{'wall s/pb':>11}"
    print(header)
    print("-" * len(header))
    result: dict[str, Any] = {"problems": n, "budget_calls": args.budget_calls}
    greedy = summaries[0].pass1
    for s in summaries:
        print(
            f"{s.solver:<12}{s.pass1:>8.3f}{s.solved_public:>7}/{n:<3}{s.llm_calls / n:>10.2f}"
            f"{s.tokens / n:>11.0f}{s.wall_s / n:>11.1f}"
        )
        result[f"{s.solver}_pass1"] = s.pass1
        result[f"{s.solver}_calls_per_problem"] = round(s.llm_calls / n, 3)
        result[f"{s.solver}_tokens_per_problem"] = round(s.tokens / n, 1)
        result[f"{s.solver}_wall_s_per_problem"] = round(s.wall_s / n, 2)
        if s.solver != "greedy":
            result[f"{s.solver}_lift"] = round(s.pass1 - greedy, 4)
    print(
        "lift over greedy (pass@1 points): " + ", ".join(f"{s.solver} {s.pass1 - greedy:+.3f}" for s in summaries[1:])
    )
    print(f"wall time {wall:.0f} s for the whole run (solvers in parallel)")
    result["wall_s"] = round(wall, 1)
    result["resumed"] = sum(s.resumed for s in summaries)
    return result


if __name__ == "__main__":
    summary = asyncio.run(main())
    sys.stdout.flush()
    print(json.dumps(summary))
