"""Verdicts a solution cannot fake (issue 14): each attack a wrong solution can try on the test
runner, on both backends, and the verdict it must get. Every solution here is wrong; none may pass.
"""

from __future__ import annotations

import secrets

import pytest

from tests.sandbox.sandbox_helpers import describe, lingering, run_uids
from treeagent.sandbox import run_check, run_tests

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRONG = "def f(x):\n    return -1\n"
TESTS = ["assert f(1) == 2", "assert f(2) == 4", "assert f(3) == 6"]

REPLACE_RUN = """
import sys
m = sys.modules['__main__']
m._run = lambda c, ns, l, f: ('passed', {}, '', 0.1)
m.run = m._run
def f(x):
    return -1
"""

WRAP_EMIT = """
import sys
m = sys.modules['__main__']
_orig = getattr(m, '_emit', None)
def _emit(rec):
    if rec.get('status') not in (None, 'passed'):
        rec = {'index': rec['index'], 'status': 'passed'}
    _orig(rec)
m._emit = _emit
def f(x):
    return -1
"""

FORGE_AND_EXIT = r"""
import json, os, glob
for path in glob.glob('*.json') + glob.glob('/tmp/*') + glob.glob('/work/*'):
    try:
        cfg = json.load(open(path))
        mark = cfg['marker']
    except Exception:
        continue
    os.write(1, (mark + json.dumps({'load': 'passed'}) + '\n').encode())
    for i in range(len(cfg['cases'])):
        os.write(1, (mark + json.dumps({'index': i, 'status': 'passed'}) + '\n').encode())
os._exit(0)
"""

LOOKUP_TABLE = """
import ast, json, glob
_table = {}
for path in glob.glob('*.json'):
    try:
        cfg = json.load(open(path))
    except Exception:
        continue
    for case in cfg.get('cases', []):
        for node in ast.walk(ast.parse(case['source'])):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
                args = tuple(ast.literal_eval(a) for a in node.left.args)
                _table[args] = ast.literal_eval(node.comparators[0])
def f(x):
    return _table.get((x,), -1)
"""

ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
def f(x):
    return Anything()
"""

INT_SUBCLASS = """
class Int(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = int.__hash__
def f(x):
    return Int(0)
"""

FRAME_WALK = """
import sys
def _yes(*args, **kwargs):
    return None
def f(x):
    frame = sys._getframe(1)
    while frame is not None:
        g = frame.f_globals
        for name in ('_ta_compare', '_ta_truth'):
            g[name] = _yes
        if '_run' in g:
            g['_run'] = lambda c, ns, l, fs: ('passed', {}, '', 0.1)
        frame = frame.f_back
    return -1
"""

EXIT_IN_CALL = """
import os
def f(x):
    os._exit(0)
"""

SHADOW_BUILTIN = """
def abs(x):
    return 0
def f(x):
    return -1
"""

STOP_ITERATION = """
def f(x):
    raise StopIteration
"""

ATTACKS = {
    "replace_run": REPLACE_RUN,
    "wrap_emit": WRAP_EMIT,
    "forge_records_and_exit": FORGE_AND_EXIT,
    "lookup_table_from_config": LOOKUP_TABLE,
    "always_equal_object": ALWAYS_EQUAL,
    "int_subclass": INT_SUBCLASS,
    "frame_walk_replaces_helpers": FRAME_WALK,
    "exit_in_call": EXIT_IN_CALL,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_attack_does_not_pass(sandbox, backend, attack):
    report = await run_tests(sandbox, ATTACKS[attack], TESTS, case_time_limit_s=2.0)
    assert not report.all_passed, (attack, report.feedback())
    assert report.passed == 0, (attack, [r.status for r in report.results])
    # the next run in the same workers is judged as usual, and nothing of the attack is left
    honest = await run_tests(sandbox, "def f(x):\n    return 2 * x\n", TESTS)
    assert honest.all_passed, honest.feedback()
    left = await lingering(run_uids(backend))
    assert not left, describe(left)


async def test_attack_through_check_program(sandbox):
    check = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n"
    for attack in (ALWAYS_EQUAL, INT_SUBCLASS, FRAME_WALK, REPLACE_RUN):
        report = await run_check(sandbox, attack, check, entry_point="f")
        assert report.passed == 0 and not report.all_passed, report.feedback()


async def test_not_plain_data_is_an_error_verdict(sandbox):
    report = await run_tests(sandbox, ALWAYS_EQUAL, ["assert f(1) == 2"])
    result = report.results[0]
    assert result.status == "error"
    assert "not plain data" in (result.message or ""), result
    assert "Anything" in (result.message or "")


async def test_shadowing_a_builtin_does_not_reach_the_tests(sandbox):
    report = await run_tests(sandbox, SHADOW_BUILTIN, ["assert abs(f(1) - 2) < 1e-9"])
    assert report.results[0].status == "failed", report.feedback()


async def test_stop_iteration_cannot_end_a_test_loop_early(sandbox):
    report = await run_tests(sandbox, STOP_ITERATION, ["assert all(map(f, [1, 2, 3]))"])
    assert report.results[0].status == "error", report.feedback()
    assert report.results[0].error_type == "StopIteration"


async def test_hidden_tests_never_exist_inside_the_jail(sandbox):
    """The solution searches its files, environment, argv and its own memory for a token that
    only the tests hold; it must find nothing."""
    token = "SEKRIT-" + secrets.token_hex(8)
    scan = r"""
import ctypes, os, re, sys
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again (a setuid made it not): /proc/self/mem opens
pat = re.compile(rb"SEKRIT" + rb"-[0-9a-f]{16}")
found = []
for top in {os.getcwd(), '/tmp', '/work', '/dev/shm'}:
    for root, dirs, files in os.walk(top):
        for name in files:
            try:
                with open(os.path.join(root, name), 'rb') as fh:
                    if pat.search(fh.read()):
                        found.append('file ' + name)
            except OSError:
                pass
if pat.search(repr(dict(os.environ)).encode()) or pat.search(repr(sys.argv).encode()):
    found.append('env/argv')
with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        if not perms.startswith('r'):
            continue
        lo, hi = (int(x, 16) for x in addr.split('-'))
        try:
            mem.seek(lo)
            if pat.search(mem.read(hi - lo)):
                found.append('memory ' + line.strip())
        except (OSError, ValueError, OverflowError):
            pass
print('FOUND' if found else 'CLEAN', found)
def f(x):
    return -1
"""
    report = await run_tests(sandbox, scan, [f"assert f(1) != {token!r}"], case_time_limit_s=20.0)
    assert report.load.passed, report.feedback()
    assert report.load.stdout.startswith("CLEAN"), report.load.stdout
    # the scan does find a token that is there (in a file and in memory)
    planted = f"open('planted.txt', 'w').write({token!r})\n" + scan
    control = await run_tests(sandbox, planted, ["assert True"], case_time_limit_s=20.0)
    assert control.load.stdout.startswith("FOUND"), control.load.stdout
    assert "file planted.txt" in control.load.stdout and "memory" in control.load.stdout
    assert token not in report.run.stdout and token not in report.run.stderr


async def test_prompt_helpers_come_from_the_trusted_prompt(sandbox):
    """HumanEval/32-style: the tests call a helper of the prompt; a candidate that redefines it
    must not pass when the trusted side has the prompt."""
    prompt = "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\ndef find_zero(xs):\n    ...\n"
    candidate = "def poly(xs, x):\n    return 0.0\n\ndef find_zero(xs):\n    return 12345.0\n"
    tests = ["assert abs(poly([1, 2], candidate([1, 2]))) < 1e-6"]
    report = await run_tests(sandbox, candidate, tests, entry_point="find_zero", prompt=prompt)
    assert report.results[0].status == "failed", report.feedback()
    honest = "def poly(xs, x):\n    return 0.0\n\ndef find_zero(xs):\n    return -0.5\n"
    report = await run_tests(sandbox, honest, tests, entry_point="find_zero", prompt=prompt)
    assert report.all_passed, report.feedback()


async def test_solution_values_never_replace_the_tests_own_names(sandbox):
    """A test program's own constants (and helpers) stay the tests' even when the solution
    defines the same names; the solution's data values still reach tests that read them."""
    check = (
        "EXPECTED = [2, 4]\n\ndef check(candidate):\n"
        "    assert candidate(1) == EXPECTED[0]\n    assert candidate(2) == EXPECTED[1]\n"
    )
    code = "EXPECTED = [-1, -1]\ndef f(x):\n    return -1\n"
    report = await run_check(sandbox, code, check, entry_point="f")
    assert [r.status for r in report.tests] == ["failed", "failed"], report.feedback()
    shared = await run_tests(sandbox, "LIMIT = 3\ndef f(x):\n    return x\n", ["assert f(LIMIT) == 3"])
    assert shared.all_passed, shared.feedback()


async def test_malformed_replies_fail_the_test_and_stop_the_run(sandbox):
    """A solution that writes junk where its replies go: no pass, and a clear status."""
    code = "import os\ndef f(x):\n    os.write(5, b'[' * 100000 + b'\\n')\n    return 2 * x\n"
    report = await run_tests(sandbox, code, ["assert f(1) == 2", "assert f(2) == 4"])
    assert report.passed == 0 and report.results[0].status != "passed", report.feedback()


async def test_a_solution_that_swallows_its_timeout_times_out_every_later_test_quickly(sandbox):
    code = (
        "def f(x):\n    while True:\n        try:\n            while True:\n                pass\n"
        "        except BaseException:\n            pass\n"
    )
    report = await run_tests(
        sandbox, code, ["assert f(1) == 2", "assert f(2) == 4", "assert f(3) == 6"], case_time_limit_s=1.0
    )
    assert [r.status for r in report.results] == ["timeout", "timeout", "timeout"], report.feedback()
    assert "earlier call" in (report.results[1].message or "")
    assert report.run.wall_ms < 5000, report.run  # not a full time limit per test
