"""The pool: fairness, parallelism, cancellation, dead workers, degraded isolation, bad setups."""

from __future__ import annotations

import asyncio
import gc
import os
import signal

import pytest

from treeagent.sandbox import (
    DockerSandbox,
    ProcessSandbox,
    RunRequest,
    SandboxError,
    SandboxIsolationWarning,
    Verdict,
)
from treeagent.sandbox.pool import WorkerConn, WorkerPool, _frame

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_requests_are_served_in_arrival_order():
    async with ProcessSandbox(workers=1, uid_base=64800) as sb:
        blocker = asyncio.create_task(sb.run(RunRequest(code="import time\ntime.sleep(0.3)")))
        await asyncio.sleep(0.05)
        tasks = []
        for i in range(5):
            tasks.append(asyncio.create_task(sb.run(RunRequest(code=f"import time\nprint({i}, time.time())"))))
            await asyncio.sleep(0.01)
        await blocker
        results = await asyncio.gather(*tasks)
        stamps = [float(r.stdout.split()[1]) for r in results]
        assert [int(r.stdout.split()[0]) for r in results] == list(range(5))
        assert stamps == sorted(stamps)


async def test_workers_run_in_parallel_each_with_its_own_uid(process_sandbox):
    snippet = "import os, time\nt = time.time()\ntime.sleep(1.0)\nprint(os.getuid(), t, time.time())"
    a, b = await asyncio.gather(*(process_sandbox.run(RunRequest(code=snippet)) for _ in range(2)))
    (uid_a, start_a, end_a), (uid_b, start_b, end_b) = (r.stdout.split() for r in (a, b))
    assert uid_a != uid_b
    assert float(start_a) < float(end_b) and float(start_b) < float(end_a)  # the runs overlapped


async def test_cancelled_request_does_not_leak_its_reply():
    async with ProcessSandbox(workers=1, uid_base=64810) as sb:
        slow = asyncio.create_task(sb.run(RunRequest(code="import time\ntime.sleep(1)\nprint('slow')")))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        result = await sb.run(RunRequest(code="print('fast')"))
        assert result.stdout == "fast\n"


async def test_a_worker_that_dies_is_replaced():
    async with ProcessSandbox(workers=1, uid_base=64820) as sb:
        first = await sb.run(RunRequest(code="print(1)"))
        assert first.ok
        conn = sb._pool._all[0]
        os.killpg(conn.proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        await conn.proc.wait()  # type: ignore[attr-defined]
        result = await sb.run(RunRequest(code="print(2)"))
        assert result.verdict is Verdict.ok and result.stdout == "2\n"
        assert sb._pool._all[0] is not conn


async def test_missing_isolation_is_named_loudly():
    sb = ProcessSandbox(workers=1, namespaces=False, cgroups=False, uid_base=64830)
    with pytest.warns(SandboxIsolationWarning, match="WITHOUT: .*cgroup memory limit.*namespaces"):
        await sb.start()
    try:
        assert "pid/mount/ipc/uts/network namespaces" in sb.missing_isolation
        result = await sb.run(RunRequest(code="import os\nprint(os.getuid())"))
        assert result.ok and result.stdout == "64830\n"
        timeout = await sb.run(RunRequest(code="while True: pass", time_limit_s=0.5))
        assert timeout.verdict is Verdict.timeout
    finally:
        await sb.close()


async def test_full_isolation_reports_nothing_missing(process_sandbox):
    assert process_sandbox.missing_isolation == []


async def test_network_needs_to_be_allowed(process_sandbox):
    with pytest.raises(SandboxError, match="allow_network=True"):
        await process_sandbox.run(RunRequest(code="pass", network=True))


async def test_allowed_network_reaches_a_local_server():
    seen = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, ProcessSandbox(workers=1, allow_network=True, uid_base=64840) as sb:
        probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\nprint('ok')"
        result = await sb.run(RunRequest(code=probe, network=True))
        assert result.stdout == "ok\n", result
        await asyncio.wait_for(seen.wait(), 2)


async def test_run_before_start_is_a_clear_error():
    with pytest.raises(SandboxError, match="not started"):
        await ProcessSandbox(workers=1).run(RunRequest(code="pass"))


async def test_no_docker_daemon_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(SandboxError, match=r"no Docker daemon answers .*scripts/dockerd.sh start"):
        await DockerSandbox(workers=1).start()


@pytest.mark.docker
async def test_docker_refuses_a_memory_limit_over_the_container(docker_sandbox):
    with pytest.raises(SandboxError, match="over the container"):
        await docker_sandbox.run(RunRequest(code="pass", memory_limit_mb=docker_sandbox.memory_limit_mb + 1))


async def test_close_with_requests_in_flight_and_queued():
    sb = ProcessSandbox(workers=1, uid_base=64850)
    await sb.start()
    running = asyncio.create_task(sb.run(RunRequest(code="import time\ntime.sleep(5)")))
    queued = asyncio.create_task(sb.run(RunRequest(code="print(1)")))
    await asyncio.sleep(0.3)
    await sb.close()
    for task in (running, queued):
        with pytest.raises(SandboxError, match="was closed"):
            await asyncio.wait_for(task, 5)
    assert sb._pool.connections() == []  # nothing was restarted behind our back


async def test_a_worker_that_dies_mid_run_is_noticed_at_once():
    async with ProcessSandbox(workers=1, uid_base=64860) as sb:
        [pid] = sb.worker_pids()
        task = asyncio.create_task(sb.run(RunRequest(code="import time\ntime.sleep(30)", time_limit_s=60)))
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)  # the worker only: the run's init still holds its pipes
        result = await asyncio.wait_for(task, 10)
        assert result.verdict is Verdict.killed
        assert "restarted" in (result.message or "")
        again = await sb.run(RunRequest(code="print('back')"))
        assert again.stdout == "back\n" and sb.worker_pids() != [pid]


async def test_runs_cannot_signal_their_way_into_the_worker():
    async with ProcessSandbox(workers=1, uid_base=64870) as sb:
        before = sb.worker_pids()
        attack = (
            "import os, signal\n"
            "for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGPIPE):\n"
            "    for pid in (1, os.getppid()):\n"
            "        try:\n"
            "            os.kill(pid, sig)\n"
            "        except OSError:\n"
            "            pass\n"
            "print('done')\n"
        )
        for _ in range(3):
            result = await sb.run(RunRequest(code=attack))
            # getppid() is 0 in the run's pid namespace: kill(0, SIGINT) interrupts the run itself
            assert result.verdict is Verdict.ok or "KeyboardInterrupt" in result.stderr, result
        after = await sb.run(RunRequest(code="print('fine')"))
        assert after.stdout == "fine\n"
        assert sb.worker_pids() == before  # never restarted


async def test_stdin_left_unread_never_hurts_the_worker():
    async with ProcessSandbox(workers=1, uid_base=64880) as sb:
        before = sb.worker_pids()
        for _ in range(30):
            result = await sb.run(RunRequest(code="pass", stdin="z" * (1 << 20)))
            assert result.ok, result
        assert sb.worker_pids() == before


@pytest.mark.docker
async def test_docker_workers_outlive_a_garbage_collection(docker_daemon, monkeypatch):
    """The Docker SDK's exec socket object holds the exec's HTTP response, which sits in a
    reference cycle and closes the exec's socket when collected: a worker must keep it, or a
    full collection (late in a long test session) cuts its connection, and its next run comes
    back `killed` ("Connection lost") with every test of it not run."""
    import weakref

    from docker.api.client import APIClient

    streams: list[weakref.ref[object]] = []
    exec_start = APIClient.exec_start

    def recording(self: APIClient, *args: object, **kwargs: object) -> object:
        stream = exec_start(self, *args, **kwargs)
        streams.append(weakref.ref(stream))
        return stream

    monkeypatch.setattr(APIClient, "exec_start", recording)
    async with DockerSandbox(workers=2, uid_base=64910) as sb:
        before = sb._pool.connections()
        gc.collect()
        assert len(streams) == 2 and all(ref() is not None for ref in streams)  # still held
        results = [await sb.run(RunRequest(code=f"print({i})")) for i in range(4)]  # two per worker
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)], [r.message for r in results]
        assert sb._pool.connections() == before  # none was restarted


def _worker_memory(sb: ProcessSandbox | DockerSandbox) -> tuple[int, int]:
    """(host pid, resident bytes) of the sandbox's one worker."""
    if isinstance(sb, ProcessSandbox):
        [pid] = sb.worker_pids()
    else:  # the container's worker: the _worker.py process whose parent is not one (its evaluator's is)
        [conn] = sb._pool.connections()
        top = conn.container.top(ps_args="-o pid,ppid,args")  # type: ignore[attr-defined]
        workers = {int(row[0]): int(row[1]) for row in top["Processes"] if "_worker.py" in row[2]}
        [pid] = [p for p, parent in workers.items() if parent not in workers]
    with open(f"/proc/{pid}/statm") as fh:
        return pid, int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
async def test_a_worker_keeps_nothing_of_its_runs_and_still_names_a_blowup(backend, request):
    """Big requests through one worker: between runs it is back to its size at start (runs fork
    from it, and in the process backend its memory counts against each run's limit); then a
    test that blows memory is named `memory` by the jail's own limit, and the worker lives on."""
    from treeagent.sandbox import run_tests

    if backend == "docker":
        request.getfixturevalue("docker_daemon")
    sb = ProcessSandbox(workers=1, uid_base=64920) if backend == "process" else DockerSandbox(workers=1, uid_base=64930)
    async with sb:
        pid, start = _worker_memory(sb)
        for _ in range(2):
            big = await sb.run(RunRequest(code="import sys\nprint(len(sys.stdin.read()))", stdin="x" * (24 << 20)))
            assert big.stdout == f"{24 << 20}\n", big
            for _ in range(100):  # the worker cleans up after its reply
                held = _worker_memory(sb)[1]
                if held < start + (16 << 20):
                    break
                await asyncio.sleep(0.05)
            assert held < start + (16 << 20), f"the worker holds {held >> 20} MB after a run, {start >> 20} MB at start"
        hog = "def hog():\n    return bytearray(4 * 1024 ** 3)\n"
        report = await run_tests(sb, hog, ["assert hog()", "assert True"], memory_limit_mb=128)
        assert [r.status for r in report.results] == ["memory", "passed"], report.feedback()
        assert _worker_memory(sb)[0] == pid  # the same worker throughout


async def test_an_evaluator_that_grew_is_replaced_before_the_next_run():
    """Tests run in the worker's long-lived evaluator; one that keeps memory there past the
    worker's bound gets the worker (and evaluator) replaced, and the next run goes on as usual."""
    from treeagent.sandbox import run_tests

    async with ProcessSandbox(workers=1, uid_base=64940) as sb:
        [evaluator] = sb.evaluator_pids()
        keep = "import sys\nsys.kept_by_a_test = b'x' * (256 << 20)"
        report = await run_tests(sb, "def f():\n    return 1\n", [keep, "assert f() == 1"])
        assert report.all_passed, report.feedback()
        report = await run_tests(sb, "def f():\n    return 2\n", ["assert f() == 2"])
        assert report.all_passed, report.feedback()
        assert sb.evaluator_pids() != [evaluator]


class _FakeWorker(WorkerConn):
    """A worker on an in-memory stream: it answers each request with an ok result, or, once
    `leave_broken` is called, has said `broken` after its last run and gone (writes then fail)."""

    def __init__(self) -> None:
        self.reader = asyncio.StreamReader()
        self.reader.feed_data(_frame({"pid": 1, "missing": []}))
        self.gone = False

    def leave_broken(self) -> None:
        self.reader.feed_data(_frame({"broken": "its cleanup failed"}))
        self.reader.feed_eof()
        self.gone = True

    def write(self, data: bytes) -> None:
        if not self.gone:
            self.reader.feed_data(_frame({"verdict": "ok", "stdout": "answered\n"}))

    async def drain(self) -> None:
        if self.gone:
            raise ConnectionResetError("Connection lost")

    async def kill(self) -> None:
        self.gone = True


async def test_a_worker_that_left_broken_before_a_request_hands_it_on():
    """A worker that found itself broken after a run says so and exits; when it is gone before
    the next request is even written, that request (never taken) runs on its replacement."""
    spawned: list[_FakeWorker] = []

    async def spawn(index: int) -> WorkerConn:
        spawned.append(_FakeWorker())
        return spawned[-1]

    pool = WorkerPool(spawn, 1, "FakePool")
    await pool.start()
    try:
        spawned[0].leave_broken()
        result = await pool.run(RunRequest(code="pass"))
        assert result.verdict is Verdict.ok and result.stdout == "answered\n", result
        assert len(spawned) == 2
    finally:
        await pool.close()
