"""Public tests from a problem's docstring examples: the tests an agent may legitimately see.

Two forms are read: doctest examples (`>>> f(1)` then the expected value on the next line), and the
one-line forms HumanEval's other prompts use (`f(1) == 2`, `f(1) ➞ 2`, `f(1) => 2`, `f(1) -> 2`,
`f(1) should return 2`). An example becomes `assert f(args) == expected` only when both sides are
plain literals (numbers, strings, lists, tuples, dicts, sets, True/False/None): prose that merely
mentions the function is never turned into a test.
"""

from __future__ import annotations

import ast
import doctest
import re

# the separators between a call and its expected value, longest first
_SEPARATORS = ("should return", "==>", "=>", "➞", "->", "==", "returns", "=", ":")
_TRAILING = re.compile(r"[\s.,;]+$")


def is_literal(source: str) -> bool:
    """True when `source` is one Python literal (what `ast.literal_eval` accepts)."""
    try:
        ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _literal_call(source: str, entry_point: str) -> bool:
    """`source` is exactly `entry_point(literal, ...)` (keyword arguments allowed)."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return False
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point):
        return False
    args = [*node.args, *(k.value for k in node.keywords)]
    return all(is_literal(ast.unparse(a)) for a in args) and not any(k.arg is None for k in node.keywords)


def _assertion(call: str, expected: str) -> str:
    return f"assert {call.strip()} == {expected.strip()}"


def doctest_examples(docstring: str, entry_point: str) -> list[str]:
    """`>>> f(x)` / expected-output pairs."""
    tests = []
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:  # inconsistent indentation: try line by line
        examples = [e for line in docstring.splitlines() for e in _line_examples(line, docstring)]
    for example in examples:
        source = example.source.strip()
        want = example.want.strip()
        if not is_literal(want):
            want = want.split("\n", 1)[0].strip()  # the expected value, then prose up to a blank line
        if want and _literal_call(source, entry_point) and is_literal(want):
            tests.append(_assertion(source, want))
    return tests


def _line_examples(line: str, docstring: str) -> list[doctest.Example]:
    """A `>>>` line and the line after it, when the docstring as a whole does not parse as doctest."""
    stripped = line.strip()
    if not stripped.startswith(">>>"):
        return []
    lines = [raw.strip() for raw in docstring.splitlines()]
    following = lines[lines.index(stripped) + 1] if lines.index(stripped) + 1 < len(lines) else ""
    if not following or following.startswith(">>>"):
        return []
    return [doctest.Example(stripped[3:].strip(), following)]


def _call_at(line: str, start: int) -> int | None:
    """The index just past the parenthesised argument list that opens at `line[start]`."""
    depth = 0
    quote: str | None = None
    for i in range(start, len(line)):
        ch = line[i]
        if quote is not None:
            if ch == quote and line[i - 1] != "\\":
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _expected(rest: str) -> str | None:
    """The literal after a separator; `19 - 5 - 6 = 8` style working is reduced to its result."""
    text = _TRAILING.sub("", rest.strip())
    text = text.removeprefix("(should be").strip()
    for candidate in (text, text.rsplit("=", 1)[-1], text.split(" ", 1)[0] if " " in text else text):
        candidate = _TRAILING.sub("", candidate.strip())
        if candidate and is_literal(candidate):
            return candidate
    return None


def inline_examples(docstring: str, entry_point: str) -> list[str]:
    """One-line `f(args) SEP expected` examples."""
    tests = []
    pattern = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\s*\(")
    for raw in docstring.splitlines():
        line = raw.strip()
        if line.startswith(">>>"):
            continue
        for match in pattern.finditer(line):
            end = _call_at(line, match.end() - 1)
            if end is None:
                continue
            call = line[match.start() : end]
            if not _literal_call(call, entry_point):
                continue
            rest = line[end:].strip().lstrip("#").strip()
            for sep in _SEPARATORS:
                if rest.lower().startswith(sep):
                    expected = _expected(rest[len(sep) :])
                    if expected is not None:
                        tests.append(_assertion(call, expected))
                    break
    return tests


_NAMED = re.compile(r"^for\s+(\w+)\s*=\s*(.+?)\s*,?\s+the output should be\s+(.+)$", re.IGNORECASE)


def named_examples(docstring: str, entry_point: str, params: list[str]) -> list[str]:
    """`For lst = [1, 2] the output should be 3` (one-parameter functions only)."""
    if len(params) != 1:
        return []
    tests = []
    for raw in docstring.splitlines():
        match = _NAMED.match(raw.strip())
        if match is None or match.group(1) != params[0]:
            continue
        argument, expected = match.group(2), _expected(match.group(3))
        if is_literal(argument) and expected is not None:
            tests.append(_assertion(f"{entry_point}({argument})", expected))
    return tests


def entry_docstring(prompt: str, entry_point: str) -> tuple[str, list[str]]:
    """The entry point's docstring and parameter names (the whole prompt when it does not parse)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return prompt, []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            return ast.get_docstring(node) or "", [a.arg for a in node.args.args]
    return prompt, []


def docstring_tests(prompt: str, entry_point: str) -> list[str]:
    """The public tests of a prompt: its doctest, one-line and named examples, de-duplicated."""
    doc, params = entry_docstring(prompt, entry_point)
    tests = doctest_examples(doc, entry_point) + inline_examples(doc, entry_point)
    tests += named_examples(doc, entry_point, params)
    return list(dict.fromkeys(tests))
