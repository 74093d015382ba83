"""Fixtures: one process sandbox and one Docker sandbox per session, and host-side checks."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from treeagent.sandbox import DockerSandbox, ProcessSandbox, SandboxError
from treeagent.sandbox.container import connect

PROCESS_UID_BASE = 64400
DOCKER_UID_BASE = 64500
WORKERS = 2


def processes_of(uids: range) -> list[tuple[int, int]]:
    """(pid, uid) of live processes owned by any of `uids`, seen from the host."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{name}").st_uid
            if uid not in uids:
                continue
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append((int(name), uid))
    return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def process_sandbox() -> AsyncIterator[ProcessSandbox]:
    async with ProcessSandbox(workers=WORKERS, uid_base=PROCESS_UID_BASE) as sb:
        yield sb


@pytest.fixture(scope="session")
def docker_daemon() -> None:
    """Skips (with the reason) when no Docker daemon answers; `scripts/dockerd.sh start` starts one."""
    try:
        connect().close()
    except SandboxError as exc:
        pytest.skip(f"Docker backend: {exc}")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def docker_sandbox(docker_daemon: None) -> AsyncIterator[DockerSandbox]:
    async with DockerSandbox(workers=WORKERS, uid_base=DOCKER_UID_BASE) as sb:
        yield sb


@pytest.fixture(params=["process", pytest.param("docker", marks=pytest.mark.docker)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_daemon")
    return str(request.param)


@pytest.fixture
def sandbox(backend: str, request: pytest.FixtureRequest) -> ProcessSandbox | DockerSandbox:
    name = "process_sandbox" if backend == "process" else "docker_sandbox"
    sb: ProcessSandbox | DockerSandbox = request.getfixturevalue(name)
    return sb


def run_uids(backend: str) -> range:
    base = PROCESS_UID_BASE if backend == "process" else DOCKER_UID_BASE
    return range(base, base + WORKERS)
