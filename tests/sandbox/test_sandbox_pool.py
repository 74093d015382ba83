"""The pool: fairness, parallelism, cancellation, dead workers, degraded isolation, bad setups."""

from __future__ import annotations

import asyncio
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
