#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so it checks a shadow tree of symlinks that
# lays the folders out as the import package `treeagent` (the same mapping pyproject.toml declares).
set -euo pipefail
cd "$(dirname "$0")/.."
shadow=.typecheck
rm -rf "$shadow" && mkdir -p "$shadow/treeagent"
for f in treeagent/*; do ln -s "../../$f" "$shadow/treeagent/$(basename "$f")"; done
for d in agents environments search sandbox; do ln -s "../../$d" "$shadow/treeagent/$d"; done
MYPYPATH="$shadow" .venv/bin/mypy -p treeagent "$@"
