#!/usr/bin/env bash
# Create .venv/ at the repository root and install treeagent into it (editable), with the extras
# given as arguments (default: games,docker,coding,dev). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-games,docker,coding,dev}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
