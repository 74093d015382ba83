#!/usr/bin/env bash
# scripts/vllm.sh start|stop|status [PORT]
#   start: installs the engine venv and the embedded model when missing (first time ~3 min), starts
#          the embedded vLLM server detached on 127.0.0.1:PORT (default 8765) in its own process group
#          (pid file and log under ~/.cache/treeagent/run/), waits until it answers, prints the base URL.
#          Idempotent: a server already running on PORT is reused.
#   stop:  kills the server's whole process group (API server, engine and workers).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-start}"
port="${2:-${TREEAGENT_VLLM_PORT:-8765}}"
py=.venv/bin/python
if [ ! -x "$py" ]; then
    echo "no .venv: run scripts/setup.sh first" >&2
    exit 1
fi
case "$cmd" in
    start) exec "$py" -m treeagent.cli.serve --background --port "$port" ;;
    stop) exec "$py" -m treeagent.cli.serve --stop --port "$port" ;;
    status)
        if curl -fsS "http://127.0.0.1:${port}/v1/models" >/dev/null 2>&1; then
            echo "http://127.0.0.1:${port}/v1"
        else
            echo "no server answers on port ${port}" >&2
            exit 1
        fi
        ;;
    *) echo "usage: scripts/vllm.sh start|stop|status [PORT]" >&2; exit 2 ;;
esac
