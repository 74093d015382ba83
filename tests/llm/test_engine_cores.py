"""Engines on one machine get cores of their own (agents/llm/engine_cores.py), and say which."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from treeagent.agents.llm import engine_cores
from treeagent.agents.llm.engine_cores import BIND_VAR, assign, binding_from_log, choose_bind, read_claims, write_claim

VLLM_LOG = """(EngineCore pid=1) INFO [ompmultiprocessing.py:185] OpenMP thread binding info:
(EngineCore pid=1) INFO [ompmultiprocessing.py:185] \tVLLM_CPU_OMP_THREADS_BIND='auto', auto_setup=True
(EngineCore pid=1) INFO [ompmultiprocessing.py:185] \tlocal_rank=0, core ids=[0, 2]
(EngineCore pid=1) INFO [ompmultiprocessing.py:185] \treserved_cpus=[3]
"""


def test_alone_an_engine_takes_every_core_beside_others_the_free_ones() -> None:
    assert choose_bind([0, 1], set()) == ("0,1", {0, 1})
    assert choose_bind([0, 1], {0}) == ("1", {1})
    assert choose_bind([0, 1, 2, 3], {0, 1}) == ("2,3", {2, 3})
    assert choose_bind([0, 1], {0, 1}) == ("nobind", set())
    assert choose_bind([5], set()) == ("5", {5})


def test_claims_of_dead_engines_are_dropped_and_the_own_port_is_skipped(tmp_path: Path) -> None:
    write_claim(tmp_path, 8765, 111, {0})
    write_claim(tmp_path, 8790, 222, {1})
    write_claim(tmp_path, 9000, 333, {2, 3})
    write_claim(tmp_path, 9001, 111, set())  # an engine whose threads float (no core was free)
    (tmp_path / "vllm-junk.cores").write_text("not a claim")
    alive = {111, 333}.__contains__
    assert read_claims(tmp_path, alive) == {8765: {0}, 9000: {2, 3}, 9001: set()}
    assert not (tmp_path / "vllm-8790.cores").exists()  # its engine is gone
    assert read_claims(tmp_path, alive, skip_port=8765) == {9000: {2, 3}, 9001: set()}


def test_assign_pins_a_second_engine_off_the_first_ones_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BIND_VAR, raising=False)
    monkeypatch.setattr(engine_cores.os, "sched_getaffinity", lambda _pid: {0, 1})
    write_claim(tmp_path, 8765, os.getpid(), {0})
    env: dict[str, str] = {}
    assert assign(env, tmp_path, 8790, lambda pid: True) == ("1", {1})
    assert env[BIND_VAR] == "1" and env["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"
    # restarting the engine on 8765 itself: its own old claim does not count
    env = {}
    assert assign(env, tmp_path, 8765, lambda pid: True) == ("0,1", {0, 1})
    write_claim(tmp_path, 8790, os.getpid(), {1})
    env = {}
    assert assign(env, tmp_path, 9000, lambda pid: True) == ("nobind", set())
    assert "VLLM_CPU_NUM_OF_RESERVED_CPU" not in env


def test_a_users_own_bind_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BIND_VAR, "0-1")
    write_claim(tmp_path, 8765, os.getpid(), {0})
    env: dict[str, str] = {}
    assert assign(env, tmp_path, 8790, lambda pid: True) == ("0-1", {0, 1})
    assert BIND_VAR not in env  # left as the user set it


def test_the_binding_is_read_from_the_engine_log() -> None:
    assert binding_from_log(VLLM_LOG) == ({0, 2}, {3})
    assert binding_from_log("no binding lines (a GPU build)") is None
