"""Hostile and broken code on both backends: the right verdict, the host unaffected, the next run clean."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest

from tests.sandbox.sandbox_helpers import describe, lingering, run_uids
from treeagent.sandbox import RunRequest, Verdict

pytestmark = pytest.mark.asyncio(loop_scope="session")
PROJECT_FILE = Path(__file__).resolve().parents[2] / "pyproject.toml"


def code(src: str) -> str:
    return textwrap.dedent(src).strip() + "\n"


async def assert_clean(sandbox, backend: str) -> None:
    """No process of the runs' uids is left, and a trivial run still works."""
    left = await lingering(run_uids(backend))
    assert left == [], describe(left)
    result = await sandbox.run(RunRequest(code="print('still fine')"))
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "still fine\n"


async def test_infinite_loop_times_out(sandbox, backend):
    result = await sandbox.run(RunRequest(code="while True:\n    pass\n", time_limit_s=1.0))
    assert result.verdict is Verdict.timeout
    assert 900 <= result.wall_ms < 5000
    assert "time limit" in (result.message or "")
    await assert_clean(sandbox, backend)


async def test_cpu_limit_below_wall_limit(sandbox, backend):
    result = await sandbox.run(RunRequest(code="while True:\n    pass\n", time_limit_s=30.0, cpu_limit_s=1.0))
    assert result.verdict is Verdict.timeout
    assert result.wall_ms < 25_000
    assert "CPU" in (result.message or "")


async def test_fork_bomb_is_contained(sandbox, backend):
    bomb = code(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """
    )
    result = await sandbox.run(RunRequest(code=bomb, time_limit_s=2.0, max_processes=32))
    assert result.verdict is Verdict.timeout
    await assert_clean(sandbox, backend)
    # the host can still start processes
    proc = await asyncio.create_subprocess_exec("true")
    assert await proc.wait() == 0


async def test_allocation_past_memory_limit(sandbox, backend):
    result = await sandbox.run(RunRequest(code="x = bytearray(3 * 1024 ** 3)\nprint('allocated')", memory_limit_mb=128))
    assert result.verdict is Verdict.memory
    assert "allocated" not in result.stdout
    await assert_clean(sandbox, backend)


async def test_gradual_growth_past_memory_limit(sandbox, backend):
    grow = code(
        """
        chunks = []
        while True:
            chunks.append(bytearray(8 * 1024 * 1024))
            chunks[-1][::4096] = b"x" * len(range(0, 8 * 1024 * 1024, 4096))
        """
    )
    result = await sandbox.run(RunRequest(code=grow, memory_limit_mb=128, time_limit_s=20))
    assert result.verdict is Verdict.memory, result
    await assert_clean(sandbox, backend)


async def test_gigabytes_of_output_are_cut(sandbox, backend):
    spew = "import sys\nblock = 'x' * 65536\nwhile True:\n    sys.stdout.write(block)\n"
    result = await sandbox.run(RunRequest(code=spew, output_limit_bytes=100_000, time_limit_s=20))
    assert result.verdict is Verdict.output
    assert result.stdout_truncated
    assert len(result.stdout) == 100_000
    assert result.wall_ms < 10_000
    await assert_clean(sandbox, backend)


async def test_output_to_stderr_counts_too(sandbox, backend):
    spew = "import os\nwhile True:\n    os.write(2, b'e' * 65536)\n"
    result = await sandbox.run(RunRequest(code=spew, output_limit_bytes=50_000))
    assert result.verdict is Verdict.output
    assert result.stderr_truncated


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


@pytest.mark.parametrize(
    ("snippet", "verdict", "exit_code"),
    [
        ("import sys\nsys.exit(0)", Verdict.ok, 0),
        ("import sys\nsys.exit(3)", Verdict.error, 3),
        ("import sys\nsys.exit('bye')", Verdict.error, 1),
        ("import os\nos._exit(7)", Verdict.error, 7),
        ("raise ValueError('boom')", Verdict.error, 1),
        ("def f(:\n  pass", Verdict.error, 1),
    ],
)
async def test_exits(sandbox, backend, snippet, verdict, exit_code):
    result = await sandbox.run(RunRequest(code=snippet))
    assert result.verdict is verdict, result
    assert result.exit_code == exit_code
    if "ValueError" in snippet:
        assert "ValueError: boom" in result.stderr and 'main.py", line 1' in result.stderr
    if "def f(:" in snippet:
        assert "SyntaxError" in result.stderr
    if "bye" in snippet:
        assert result.stderr == "bye\n"


async def test_segfault(sandbox, backend):
    result = await sandbox.run(RunRequest(code="import ctypes\nctypes.string_at(0)"))
    assert result.verdict is Verdict.error
    assert result.signal == 11
    assert "SIGSEGV" in (result.message or "")
    await assert_clean(sandbox, backend)


async def test_self_signal_is_killed(sandbox, backend):
    result = await sandbox.run(RunRequest(code="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    assert result.verdict is Verdict.killed
    assert result.signal == 9


async def test_code_that_never_reads_stdin(sandbox, backend):
    result = await sandbox.run(RunRequest(code="print('ignoring you')", stdin="y" * (8 << 20)))
    assert result.verdict is Verdict.ok
    assert result.stdout == "ignoring you\n"
    assert result.wall_ms < 5000


async def test_stdin_is_delivered(sandbox, backend):
    data = "".join(f"{i}\n" for i in range(100_000))
    result = await sandbox.run(RunRequest(code="import sys\nprint(sum(int(x) for x in sys.stdin))", stdin=data))
    assert result.verdict is Verdict.ok
    assert result.stdout == f"{sum(range(100_000))}\n"


async def test_huge_source_file(sandbox, backend):
    blob = "a" * (8 << 20)
    result = await sandbox.run(RunRequest(code=f"s = '{blob}'\nprint(len(s))"))
    assert result.verdict is Verdict.ok, result.message
    assert result.stdout == f"{8 << 20}\n"


async def test_next_run_in_the_same_worker_is_clean(backend):
    """Everything one run leaves (files, processes, shm, env) is gone for the next, same worker."""
    from treeagent.sandbox import DockerSandbox, ProcessSandbox

    uid_base = 64600 if backend == "process" else 64700
    sb = (
        ProcessSandbox(workers=1, uid_base=uid_base)
        if backend == "process"
        else DockerSandbox(workers=1, uid_base=uid_base)
    )
    async with sb:
        dirty = code(
            """
            import os, subprocess
            open("left.txt", "w").write("x")
            os.makedirs("/tmp/left", exist_ok=True)
            open("/tmp/left/f", "w").write("x")
            try:
                open("/dev/shm/left", "w").write("x")
            except OSError:
                pass
            subprocess.Popen(["sleep", "60"], start_new_session=True)
            os.environ["LEFT"] = "1"
            import ctypes
            libc = ctypes.CDLL("libc.so.6")
            assert libc.shmget(0, 4096, 0o1000 | 0o600) >= 0  # IPC_PRIVATE, IPC_CREAT
            assert len(open("/proc/sysvipc/shm").read().splitlines()) == 2
            print("dirty")
            """
        )
        first = await sb.run(RunRequest(code=dirty))
        assert first.verdict is Verdict.ok, first
        check = code(
            """
            import os
            print(sorted(os.listdir(".")))
            print(os.path.exists("/tmp/left"), os.path.exists("/dev/shm/left"), os.environ.get("LEFT"))
            print(len(open("/proc/sysvipc/shm").read().splitlines()) - 1)
            """
        )
        second = await sb.run(RunRequest(code=check))
        assert second.verdict is Verdict.ok, second
        assert second.stdout == "['main.py']\nFalse False None\n0\n"
        assert await lingering(range(uid_base, uid_base + 1)) == []


async def test_files_and_command(sandbox, backend):
    request = RunRequest(
        command=["python3", "prog.py", "arg"],
        files={
            "prog.py": "import sys, helper, pkg.sub.deep\nprint(helper.twice(sys.argv[1]), pkg.sub.deep.X)",
            "helper.py": "def twice(s): return s * 2",
            "pkg/sub/deep.py": "X = 'é'\nopen(__file__, 'a').close()  # the run owns its files",
        },
    )
    result = await sandbox.run(request)
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "argarg é\n"


async def test_missing_command(sandbox, backend):
    result = await sandbox.run(RunRequest(command=["no-such-program-xyz"]))
    assert result.verdict is Verdict.error
    assert result.exit_code == 127
    assert "cannot execute 'no-such-program-xyz'" in result.stderr


async def test_memory_kill_without_memory_error(sandbox, backend):
    """Memory the address-space limit does not see (many small mappings, touched) still ends as memory."""
    grow = code(
        """
        import mmap
        maps = []
        while True:
            m = mmap.mmap(-1, 4 * 1024 * 1024)
            m.write(b"x" * len(m))
            maps.append(m)
        """
    )
    result = await sandbox.run(RunRequest(code=grow, memory_limit_mb=96, time_limit_s=20))
    assert result.verdict is Verdict.memory, result
    await assert_clean(sandbox, backend)


async def test_threads_and_atexit_finish_like_python(sandbox, backend):
    snippet = code(
        """
        import atexit, threading, time
        atexit.register(lambda: print("atexit ran"))
        def late():
            time.sleep(0.2)
            print("thread done")
        threading.Thread(target=late).start()
        print("main done")
        """
    )
    result = await sandbox.run(RunRequest(code=snippet))
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "main done\nthread done\natexit ran\n"


async def test_huge_source_that_explodes_when_compiled(sandbox, backend):
    """A big nested literal costs far more memory to compile than its size: it must hit the run's
    limit, not the worker's memory."""
    bomb = "x = " + "[" * 90 + "]" * 90 + "\n" + "y = [" + "(1, 2.5, 'a')," * 400_000 + "]\nprint(len(y))\n"
    result = await sandbox.run(RunRequest(code=bomb, memory_limit_mb=64, time_limit_s=30))
    assert result.verdict in (Verdict.memory, Verdict.error), result
    if result.verdict is Verdict.error:
        assert "MemoryError" in result.stderr or "too many nested" in result.stderr or "RecursionError" in result.stderr
    await assert_clean(sandbox, backend)


async def test_a_run_can_use_its_own_loopback(sandbox, backend):
    """No network, but 127.0.0.1 inside the run works (a test server and its client)."""
    loop = code(
        """
        import socket, threading
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        threading.Thread(target=lambda: server.accept()[0].sendall(b"pong"), daemon=True).start()
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        print(client.recv(4).decode())
        """
    )
    result = await sandbox.run(RunRequest(code=loop))
    assert result.verdict is Verdict.ok, result
    assert result.stdout == "pong\n"


async def test_tiny_memory_limit_with_a_big_request(sandbox, backend):
    result = await sandbox.run(RunRequest(code="print(1)", stdin="x" * (24 << 20), memory_limit_mb=16))
    assert result.verdict in (Verdict.memory, Verdict.ok), result
    await assert_clean(sandbox, backend)
