"""Code that tries to get out: to the network, the host's files, other processes, past its own
process group. Each run must stay inside, leave the host as it was, and leave the next run clean."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.sandbox.sandbox_helpers import assert_clean, code
from treeagent.sandbox import RunRequest, Verdict

pytestmark = pytest.mark.asyncio(loop_scope="session")
PROJECT_FILE = Path(__file__).resolve().parents[2] / "pyproject.toml"


async def test_no_connection_to_a_local_server(sandbox, backend):
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe = code(
        f"""
        import socket
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", {port}))
            print("CONNECTED")
        except OSError as exc:
            print("blocked", type(exc).__name__)
        """
    )
    async with server:
        result = await sandbox.run(RunRequest(code=probe))
    assert result.verdict is Verdict.ok, result
    assert result.stdout.startswith("blocked")
    assert connections == 0


async def test_cannot_read_outside_the_work_dir(sandbox, backend):
    probe = code(
        f"""
        for path in ["/etc/shadow", {str(PROJECT_FILE)!r}, "/root/.bashrc", "/proc/1/environ"]:
            try:
                data = open(path, "rb").read()
                print("READ", path, len(data))
            except OSError as exc:
                print("blocked", path, type(exc).__name__)
        """
    )
    result = await sandbox.run(RunRequest(code=probe))
    assert result.verdict is Verdict.ok, result
    assert "READ" not in result.stdout
    assert result.stdout.count("blocked") == 4


async def test_cannot_write_outside_the_work_dir(sandbox, backend, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("intact")
    os.chmod(tmp_path, 0o777)
    os.chmod(canary, 0o666)  # even a world-writable host file must stay out of reach
    targets = [str(canary), str(PROJECT_FILE), "/etc/passwd", "/usr/treeagent-probe", "/root/probe", "/probe"]
    probe = code(
        f"""
        import os
        for path in {targets!r}:
            try:
                with open(path, "w") as fh:
                    fh.write("overwritten")
                print("WROTE", path)
            except OSError as exc:
                print("blocked", path, type(exc).__name__)
        with open("inside.txt", "w") as fh:
            fh.write("ok")
        print("inside", open("inside.txt").read())
        """
    )
    before = PROJECT_FILE.read_bytes()
    result = await sandbox.run(RunRequest(code=probe))
    assert result.verdict is Verdict.ok, result
    assert "WROTE" not in result.stdout
    assert "inside ok" in result.stdout
    assert _host_intact(canary, before)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _host_intact(canary: Path, project_bytes: bytes) -> bool:
    return (
        canary.read_text() == "intact"
        and PROJECT_FILE.read_bytes() == project_bytes
        and not os.path.exists("/usr/treeagent-probe")
        and not os.path.exists("/probe")
    )


async def test_setsid_and_double_fork_do_not_escape(sandbox, backend):
    escape = code(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            os._exit(0)
        time.sleep(0.2)
        print("parent done")
        """
    )
    result = await sandbox.run(RunRequest(code=escape))
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "parent done\n"
    await assert_clean(sandbox, backend)


async def test_killing_the_parent(sandbox, backend):
    killer = code(
        """
        import os, signal
        try:
            os.kill(os.getppid(), signal.SIGKILL)
            print("sent")
        except OSError as exc:
            print("refused", type(exc).__name__)
        """
    )
    result = await sandbox.run(RunRequest(code=killer))
    # a pid-namespaced run sees no parent (getppid() == 0: it signals its own group and dies);
    # in a container the worker is root and refuses the signal
    assert result.verdict in (Verdict.killed, Verdict.ok), result
    if result.verdict is Verdict.ok:
        assert result.stdout.startswith("refused")
    await assert_clean(sandbox, backend)


async def test_signals_to_other_processes(sandbox, backend):
    victims = [
        await asyncio.create_subprocess_exec("sleep", "60"),
        await asyncio.create_subprocess_exec("sleep", "60", user=65534, group=65534),  # 'nobody'
    ]
    try:
        pids = [v.pid for v in victims]
        attack = code(
            f"""
            import os, signal
            hits = 0
            for pid in {pids!r} + list(range(1, 400)):
                if pid == os.getpid():
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    hits += 1
                except OSError:
                    pass
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            print("done", hits)
            """
        )
        result = await sandbox.run(RunRequest(code=attack))
        assert result.verdict in (Verdict.ok, Verdict.killed), result
        await asyncio.sleep(0.1)
        for v in victims:
            assert _alive(v.pid), "a host process was killed from inside the sandbox"
        await assert_clean(sandbox, backend)
    finally:
        for v in victims:
            v.kill()
            await v.wait()
