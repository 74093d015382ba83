"""Which CPU cores an engine's compute threads get, so that engines on one machine never share one.

vLLM's CPU build pins its model threads (`VLLM_CPU_OMP_THREADS_BIND`). With `auto` it takes the
first NUMA node's cores but the last, which it keeps for its scheduler: on a 2-core machine, core
0 computes and core 1 is reserved. A second engine started with `auto` pins to the same core 0,
and both crawl (a restarted engine stalled for 600 s that way). So every engine treeagent starts
leaves a claim in the run folder (`vllm-PORT.cores`: its process group and the cores its threads
hold), and is pinned to the cores no live engine holds: alone, every core (on 2 cores, 210
tokens/s against `auto`'s 145 and `nobind`'s 127, benchmarks/engine_binding.py); beside others, what
is left; with none left, its threads float. A user's own `VLLM_CPU_OMP_THREADS_BIND` wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

BIND_VAR = "VLLM_CPU_OMP_THREADS_BIND"
RESERVED_VAR = "VLLM_CPU_NUM_OF_RESERVED_CPU"
_CORES_LINE = re.compile(r"core ids=\[([0-9, ]*)\]")
_RESERVED_LINE = re.compile(r"reserved_cpus=\[([0-9, ]*)\]")


def claim_path(folder: Path, port: int) -> Path:
    return folder / f"vllm-{port}.cores"


def read_claims(folder: Path, alive: Callable[[int], bool], skip_port: int | None = None) -> dict[int, set[int]]:
    """port -> cores held by each live engine's claim; claims of dead engines are removed."""
    held: dict[int, set[int]] = {}
    for path in folder.glob("vllm-*.cores"):
        try:
            port = int(path.stem.split("-", 1)[1])
            pid_text, _, cores_text = path.read_text().partition("\n")
            pid, cores = int(pid_text), parse_ids(cores_text)
        except (OSError, ValueError):
            continue
        if port == skip_port:
            continue
        if not alive(pid):
            path.unlink(missing_ok=True)
            continue
        held[port] = cores
    return held


def parse_ids(text: str) -> set[int]:
    """'0,2-3' or '0, 2, 3' -> {0, 2, 3}."""
    out: set[int] = set()
    for part in "".join(text.split()).split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def choose_bind(allowed: Sequence[int], taken: set[int]) -> tuple[str, set[int]]:
    """The bind setting for a new engine and the cores it will hold.

    Alone or beside others: the allowed cores no live engine holds (alone, every core: 1.44x the
    tokens/s of vLLM's `auto`, which keeps one of 2 cores for its scheduler; see
    benchmarks/engine_binding.py). No core free: `nobind`, threads float."""
    cores = sorted(allowed)
    free = [c for c in cores if c not in taken]
    if not free:
        return "nobind", set()
    return ",".join(map(str, free)), set(free)


def assign(env: dict[str, str], folder: Path, port: int, alive: Callable[[int], bool]) -> tuple[str, set[int]]:
    """Set the engine's bind in `env` (unless the user set one) and return it with its cores."""
    if BIND_VAR in os.environ:
        user = os.environ[BIND_VAR]
        return user, set() if user in ("auto", "nobind") else parse_ids(user.split("|")[0])
    taken = set().union(*read_claims(folder, alive, skip_port=port).values())
    bind, cores = choose_bind(sorted(os.sched_getaffinity(0)), taken)
    env[BIND_VAR] = bind
    if cores:  # an explicit list: no core is kept back for the scheduler
        env[RESERVED_VAR] = "0"
    return bind, cores


def write_claim(folder: Path, port: int, pid: int, cores: set[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    claim_path(folder, port).write_text(f"{pid}\n{','.join(map(str, sorted(cores)))}\n")


def binding_from_log(text: str) -> tuple[set[int], set[int]] | None:
    """(compute cores, reserved cores) from the engine's "OpenMP thread binding" log lines."""
    found = _CORES_LINE.findall(text)
    if not found:
        return None
    cores = set().union(*(parse_ids(f) for f in found))
    reserved = _RESERVED_LINE.findall(text)
    return cores, parse_ids(reserved[-1]) if reserved else set()
