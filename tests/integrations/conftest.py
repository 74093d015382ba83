"""Fixtures for the integration tests: the live model server (`@pytest.mark.llm` tests) and a
local Ray instance started here (Ray takes ~10-20 s to start on this machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray instance (2 CPUs, no dashboard, a small object store) for the tests of one
    module, stopped after them; its address, for commands that connect with --ray ADDRESS."""
    pytest.importorskip("ray", reason="the Ray tests need `ray`: pip install 'treeagent[integrations]'")
    from treeagent.ray_backend import ray_cluster

    with ray_cluster("local", num_cpus=2) as address:
        yield address
