#!/usr/bin/env bash
# Start or stop a Docker daemon of the project's own, for the sandbox's Docker backend and its tests.
#   scripts/dockerd.sh start   install docker.io if dockerd is missing, start dockerd in the background
#                              (own data/exec root and pid file), wait until `docker info` answers,
#                              and build the offline sandbox image if it is missing. Idempotent.
#   scripts/dockerd.sh stop    stop the daemon this script started (by its pid file).
# No registry can be reached here, so the image is built offline (see sandbox/docker_image.py).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${TREEAGENT_DOCKER_ROOT:-/var/lib/treeagent-docker}"
exec_root="${TREEAGENT_DOCKER_EXEC_ROOT:-/run/treeagent-docker}"
pidfile="$exec_root/dockerd.pid"
log="$root/dockerd.log"
python="${PYTHON:-.venv/bin/python}"

running() {
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

case "${1:-}" in
start)
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "dockerd.sh: dockerd missing, installing docker.io (apt-get)" >&2
        t0=$(date +%s)
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends docker.io >/dev/null
        echo "dockerd.sh: docker.io installed in $(( $(date +%s) - t0 )) s" >&2
    fi
    mkdir -p "$root" "$exec_root"
    if docker info >/dev/null 2>&1; then
        echo "dockerd.sh: a Docker daemon already answers" >&2
    else
        if ! running; then
            # setsid: the daemon outlives this script and its session; stop it with `stop`.
            setsid dockerd --data-root "$root/data" --exec-root "$exec_root/exec" \
                --pidfile "$pidfile" --host unix:///var/run/docker.sock \
                --iptables=false --ip6tables=false --bridge=none >"$log" 2>&1 </dev/null &
        fi
        for _ in $(seq 1 120); do
            docker info >/dev/null 2>&1 && break
            sleep 0.5
        done
        if ! docker info >/dev/null 2>&1; then
            echo "dockerd.sh: dockerd did not answer within 60 s; its log:" >&2
            tail -n 30 "$log" >&2 || true
            exit 1
        fi
        echo "dockerd.sh: dockerd answers (log: $log)" >&2
    fi
    "$python" -m treeagent.sandbox build-image
    ;;
stop)
    if running; then
        pid="$(cat "$pidfile")"
        kill "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        echo "dockerd.sh: dockerd stopped" >&2
    else
        echo "dockerd.sh: no dockerd started by this script is running" >&2
    fi
    ;;
*)
    echo "usage: scripts/dockerd.sh start|stop" >&2
    exit 2
    ;;
esac
