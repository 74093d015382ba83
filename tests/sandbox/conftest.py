"""Fixtures: one process sandbox and one Docker sandbox per session, and host-side checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.sandbox.sandbox_helpers import DOCKER_UID_BASE, PROCESS_UID_BASE, WORKERS
from treeagent.sandbox import DockerSandbox, ProcessSandbox, SandboxError
from treeagent.sandbox.docker_image import connect


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
