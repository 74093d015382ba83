"""Validate a dev-set JSONL file (default: devset.jsonl next to this file; pass a path to check another,
e.g. devset_hard.jsonl; add --all-examples for a set where every problem shows examples, e.g.
devset_easy.jsonl). Task ids must run <prefix>/0, <prefix>/1, ... with the prefix of the first row
("Dev", "Hard", ...). For every problem it checks that:
1. prompt + canonical_solution + test + check(entry_point) passes (subprocess, 5 s timeout);
2. a trivially wrong body ("    return None") FAILS the hidden test;
3. the docstring examples (if any) pass under doctest on prompt + canonical_solution;
4. even ids have at least 2 docstring examples (">>>" lines) and odd ids have none; with --all-examples,
   every id has at least 2;
5. the hidden test has 6-10 asserts.
Prints a summary; exits 1 on any failure."""

import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).parent
DOCTEST = (
    "import doctest, sys\nsrc = sys.stdin.read()\ng = {}\nexec(src, g)\n"
    "f = doctest.DocTestFinder().find(g[sys.argv[1]], sys.argv[1], globs=g)\n"
    "runner = doctest.DocTestRunner()\n[runner.run(t) for t in f]\n"
    "sys.exit(1 if runner.failures or not runner.tries else 0)\n"
)


def run(code, *args, stdin=None):
    try:
        p = subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True, timeout=5)
        return p.returncode == 0, (p.stdout + p.stderr)[-500:]
    except subprocess.TimeoutExpired:
        return False, "timeout"


all_examples = "--all-examples" in sys.argv[1:]
paths = [a for a in sys.argv[1:] if a != "--all-examples"]
path = pathlib.Path(paths[0]) if paths else HERE / "devset.jsonl"
problems = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
prefix = problems[0]["task_id"].split("/")[0] if problems else "Dev"
failures, with_ex = [], 0
for i, p in enumerate(problems):
    tid, ep = p["task_id"], p["entry_point"]
    errs = []
    if tid != f"{prefix}/{i}":
        errs.append("bad task_id")
    if not 6 <= p["test"].count("assert ") <= 10:
        errs.append("assert count out of range")
    n_ex = p["prompt"].count(">>>")
    if all_examples and n_ex < 2:
        errs.append(f"{n_ex} docstring examples (--all-examples wants at least 2)")
    elif not all_examples and ((i % 2 == 0 and n_ex < 2) or (i % 2 == 1 and n_ex)):
        errs.append(f"{n_ex} docstring examples on an {'odd' if i % 2 else 'even'} id")
    ok, out = run(p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({ep})\n")
    if not ok:
        errs.append("canonical fails: " + out)
    ok, _ = run(p["prompt"] + "    return None\n\n" + p["test"] + f"\ncheck({ep})\n")
    if ok:
        errs.append("'return None' passes hidden test")
    if n_ex:
        with_ex += 1
        ok, out = run(DOCTEST, ep, stdin=p["prompt"] + p["canonical_solution"])
        if not ok:
            errs.append("doctest fails: " + out)
    if errs:
        failures.append(tid)
        print(f"FAIL {tid} ({ep}): " + "; ".join(errs))
print(
    f"{path.name}: {len(problems)} problems ({prefix}/): {with_ex} with docstring examples, "
    f"{len(problems) - with_ex} without; {len(problems) - len(failures)} passed, {len(failures)} failed"
)
sys.exit(1 if failures else 0)
