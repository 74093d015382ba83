"""Broken and greedy code on both backends (loops, memory, output, exits, signals, huge sources): the
right verdict, and the next run clean. Code that tries to get out is in test_sandbox_escapes.py."""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox.sandbox_helpers import assert_clean, code, lingering
from treeagent.sandbox import RunRequest, Verdict

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
