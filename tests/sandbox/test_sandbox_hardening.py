"""Issue 14's hardening: hangs and broken workers, and clear errors instead of odd ones."""

from __future__ import annotations

import ast
import asyncio
import math

import pytest

from tests.sandbox.sandbox_helpers import describe, lingering, run_uids
from treeagent.sandbox import DockerSandbox, ProcessSandbox, RunRequest, SandboxError, SandboxIsolationWarning, Verdict

pytestmark = pytest.mark.asyncio(loop_scope="session")

CLONE_PARENT_ZOMBIE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
made = []
for _ in range(3):
    pid = libc.syscall(56, 0x00008000 | 17, 0, 0, 0, 0)  # clone(CLONE_PARENT | SIGCHLD): the worker's child
    if pid == 0:
        os._exit(0)  # and a zombie nobody in the run can reap
    made.append(pid > 0)
print('made', all(made))
"""


async def test_clone_parent_is_refused_by_the_seccomp_filter(sandbox, backend):
    result = await asyncio.wait_for(sandbox.run(RunRequest(code=CLONE_PARENT_ZOMBIE)), 10)
    assert result.ok and result.stdout == "made False\n", result
    left = await lingering(run_uids(backend))
    assert not left, describe(left)


async def test_clone_parent_zombies_do_not_hang_the_worker():
    """Without the filter (seccomp=False) the zombies are made: the worker reaps them while it
    waits for the run's pid namespace to end (it waited forever before)."""
    from treeagent.sandbox import ProcessSandbox

    sb = ProcessSandbox(workers=1, uid_base=64900, seccomp=False)
    with pytest.warns(SandboxIsolationWarning, match=r"seccomp filter \(turned off\)"):
        await sb.start()
    async with sb:
        for _ in range(2):
            result = await asyncio.wait_for(sb.run(RunRequest(code=CLONE_PARENT_ZOMBIE)), 10)
            assert result.ok and result.stdout == "made True\n", result
            nxt = await asyncio.wait_for(sb.run(RunRequest(code="print('next')", time_limit_s=30)), 5)
            assert nxt.ok and nxt.stdout == "next\n", nxt
        left = await lingering(range(64900, 64901))
        assert not left, describe(left)


SECCOMP_PROBE = r"""
import ctypes, errno, os, threading, multiprocessing
libc = ctypes.CDLL(None, use_errno=True)
def call(*args):
    ret = libc.syscall(*args)
    return 'ok' if ret >= 0 else errno.errorcode[ctypes.get_errno()]
out = {
    'add_key': call(248, b'user', b'k', b'v', 1, ctypes.c_long(-4)),  # KEY_SPEC_USER_KEYRING
    'keyctl': call(250, 0, ctypes.c_long(-4), 0, 0, 0),
    'unshare_user': call(272, 0x10000000),
    'ptrace': call(101, 16, os.getppid(), 0, 0),  # PTRACE_ATTACH
    'mq_open': call(240, b'q', 0o100 | 2, 0o600, None),
    'clone_newuser': call(56, 0x10000000 | 17, 0, 0, 0, 0),
}
t = threading.Thread(target=lambda: None); t.start(); t.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
out['fork'] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(sorted(out.items()))
"""


async def test_the_seccomp_filter_refuses_what_a_solution_never_needs(sandbox):
    assert not [m for m in sandbox.missing_isolation if "seccomp" in m]
    result = await sandbox.run(RunRequest(code=SECCOMP_PROBE))
    assert result.ok, result
    refused = dict(ast.literal_eval(result.stdout))
    assert refused.pop("fork") == 7  # forks and threads still work
    assert refused == dict.fromkeys(refused, "EPERM"), refused


async def test_stdin_that_is_not_text_is_refused_up_front(sandbox, backend):
    with pytest.raises(ValueError, match="lone surrogate"):
        RunRequest(code="pass", stdin="\ud800")
    raw = await sandbox.run(RunRequest(code="import sys\nprint(sys.stdin.buffer.read().hex())", stdin="a\udcff"))
    assert raw.ok and raw.stdout == "61ff\n", raw
    left = await lingering(run_uids(backend))
    assert not left, describe(left)


async def test_ignoring_sigxcpu_is_still_a_timeout(sandbox):
    code = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    result = await sandbox.run(RunRequest(code=code, time_limit_s=20, cpu_limit_s=1))
    assert result.verdict is Verdict.timeout, result  # was `killed`: the kernel's SIGKILL at the hard limit
    assert "CPU time limit of 1.0 s exceeded" in (result.message or ""), result


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"code": "pass", "env": {"A": "x\0y"}}, "NUL"),
        ({"code": "pass", "env": {"A=B": "x"}}, "without '='"),
        ({"command": ["echo", "a\0b"]}, "NUL"),
        ({"code": "pass", "files": {"a/": "x"}}, "canonical"),
        ({"code": "pass", "files": {".": "x"}}, "canonical"),
        ({"code": "pass", "files": {"./main.py": "x"}}, "canonical"),
        ({"code": "pass", "files": {"a//b": "x"}}, "canonical"),
        ({"code": "pass", "files": {"main.py/x": "x"}}, "main.py"),
        ({"command": ["true"], "files": {"a": "x", "a/b": "y"}}, "is a file"),
        ({"code": "pass", "time_limit_s": math.nan}, "finite"),
        ({"code": "pass", "cpu_limit_s": math.inf}, "finite"),
        ({"code": "\ud800"}, "lone surrogate"),
    ],
)
async def test_bad_requests_get_clear_errors(fields, match):
    with pytest.raises(ValueError, match=match):
        RunRequest(**fields)


async def test_docker_with_a_bad_python_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxError, match="no such executable"):
        await DockerSandbox(workers=1, python="/no/such/python3").start()
    outside = tmp_path / "python3"
    outside.write_bytes(b"#!/bin/sh\n")
    outside.chmod(0o755)
    with pytest.raises(SandboxError, match="not inside the paths bound"):
        await DockerSandbox(workers=1, python=str(outside)).start()


BREAK_WORKDIR = {
    "rename_and_symlink": "import os\nd = os.getcwd()\nos.rename(d, d + 'x')\nos.symlink('/tmp', d)\n",
    "fill_work_outside": (
        "import os\nfor i in range(5):\n    try:\n"
        "        with open(f'/work/junk{i}', 'wb') as fh:\n            fh.write(b'x' * (50 << 20))\n"
        "    except OSError:\n        pass\n"
    ),
    "nested_dirs": "import os\nfor _ in range(3000):\n    os.mkdir('a')\n    os.chdir('a')\nprint(len(os.getcwd()))\n",
}

NEXT_RUN = """
import os
here = os.getcwd()
with open('big', 'wb') as fh:
    fh.write(b'x' * (60 << 20))
print(sorted(os.listdir(here)), os.path.exists(here + 'x'), os.path.islink(here))
"""


@pytest.mark.parametrize("attack", sorted(BREAK_WORKDIR))
async def test_a_run_cannot_break_the_worker_for_the_next(sandbox, backend, attack):
    """Each worker gets the attack; then every next run, queued right behind, is clean."""
    from tests.sandbox.sandbox_helpers import WORKERS

    for _ in range(WORKERS):
        await sandbox.run(RunRequest(code=BREAK_WORKDIR[attack], time_limit_s=30))
    results = await asyncio.gather(*(sandbox.run(RunRequest(code=NEXT_RUN)) for _ in range(3 * WORKERS)))
    for result in results:
        assert result.ok and result.stdout == "['big', 'main.py'] False False\n", result
    left = await lingering(run_uids(backend))
    assert not left, describe(left)


async def test_docker_refuses_more_processes_than_its_pid_limit(docker_sandbox):
    with pytest.raises(SandboxError, match="pids limit"):
        await docker_sandbox.run(RunRequest(code="pass", max_processes=docker_sandbox.pids_limit))


async def test_a_broken_worker_hands_the_request_back():
    """A worker whose test evaluator is gone (killed from outside here) answers the next request
    with `broken` and exits; the pool runs the request on a restarted worker instead."""
    import os
    import signal

    from treeagent.sandbox import ProcessSandbox, run_tests

    async with ProcessSandbox(workers=1, uid_base=64890) as sb:
        [worker] = sb.worker_pids()
        [evaluator] = sb.evaluator_pids()
        os.kill(evaluator, signal.SIGKILL)
        await asyncio.sleep(0.2)
        report = await run_tests(sb, "def f(x):\n    return 2 * x\n", ["assert f(2) == 4"])
        assert report.all_passed, report.feedback()
        assert sb.worker_pids() != [worker] and sb.evaluator_pids() != [evaluator]
        assert (await sb.run(RunRequest(code="print(1)"))).stdout == "1\n"


async def test_uid_ranges_are_checked_and_never_shared():
    from treeagent.sandbox import ProcessSandbox

    for bad in (0, 999):
        with pytest.raises(ValueError, match="system users"):
            ProcessSandbox(workers=1, uid_base=bad)
        with pytest.raises(ValueError, match="system users"):
            DockerSandbox(workers=1, uid_base=bad)
    async with ProcessSandbox(workers=2) as a, ProcessSandbox(workers=2) as b:
        assert a.uid_base is not None and b.uid_base is not None
        assert {a.uid_base, a.uid_base + 1}.isdisjoint({b.uid_base, b.uid_base + 1})
        uid_a = await a.run(RunRequest(code="import os\nprint(os.getuid())"))
        assert int(uid_a.stdout) in (a.uid_base, a.uid_base + 1)
        with pytest.raises(SandboxError, match="in use by another live sandbox"):
            await ProcessSandbox(workers=1, uid_base=a.uid_base + 1).start()
    async with ProcessSandbox(workers=1, uid_base=a.uid_base + 1) as again:  # released at close
        assert again.uid_base == a.uid_base + 1


SOCKET_BUFFERS = r"""
import socket
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(512)
port = srv.getsockname()[1]
total = 0
keep = []
for i in range(100):
    try:
        c = socket.create_connection(('127.0.0.1', port)); s, _ = srv.accept()
    except OSError:
        break
    keep += [c, s]
    c.setblocking(False)
    chunk = b'x' * 65536
    while True:
        try:
            total += c.send(chunk)
        except (BlockingIOError, OSError):
            break
print(total >> 20)
"""


async def test_tcp_buffers_count_against_the_memory_limit():
    """Over loopback a run could park hundreds of MB in kernel socket buffers under a 32 MB
    limit (cgroup v1 counts TCP buffers apart, unlimited): the worker's cgroup now caps them.
    A fresh sandbox: a worker that served the whole suite holds more than a 32 MB run leaves."""
    async with ProcessSandbox(workers=1) as sandbox:
        result = await sandbox.run(RunRequest(code=SOCKET_BUFFERS, memory_limit_mb=32, time_limit_s=30))
    assert result.ok, result
    assert int(result.stdout) <= 48, result.stdout  # MB parked in buffers (was 372)


async def test_the_evaluator_is_outside_the_runs_cgroup(process_sandbox):
    """What the long-lived test evaluator holds must not count against a run's memory limit."""
    from pathlib import Path

    for pid in process_sandbox.evaluator_pids():
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()  # noqa: ASYNC240 (procfs)
        groups = dict(line.split(":", 2)[1:] for line in lines)
        assert groups["memory"] == "/treeagent" and groups["pids"] == "/treeagent", groups
    for pid in process_sandbox.worker_pids():  # the workers stay in their own
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()  # noqa: ASYNC240 (procfs)
        assert dict(line.split(":", 2)[1:] for line in lines)["memory"] == f"/treeagent/w{pid}"
