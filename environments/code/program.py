"""From a model's reply to the program that runs: code extraction and assembly with the prompt.

A reply may hold the whole function, only its body, or prose around a fenced block. The program
that runs is the prompt's imports, then the candidate, then the prompt's own helper functions
again: a candidate that redefines a helper the tests call (HumanEval/32 `poly`, /38
`encode_cyclic`) cannot pass by breaking it.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|$)", re.DOTALL)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(reply: str, entry_point: str | None = None) -> str:
    """The code in a reply: the fenced block that defines the entry point, else the first fenced
    block, else the reply itself (minus leading prose lines that do not parse)."""
    blocks = [body for lang, body in _FENCE.findall(reply) if lang.lower() in ("", "python", "py", "python3")]
    blocks = [b.strip("\n") for b in blocks if b.strip()]
    if blocks:
        if entry_point is not None:
            for block in blocks:
                if re.search(rf"def\s+{re.escape(entry_point)}\s*\(", block):
                    return block
        return blocks[0]
    lines = reply.strip("\n").splitlines()
    while lines and not _parses("\n".join(lines)) and not lines[0].startswith((" ", "\t", "def ", "import", "from")):
        lines.pop(0)
    return "\n".join(lines)


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return bool(re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", code, re.MULTILINE))
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name for n in tree.body)


def prompt_parts(prompt: str, entry_point: str) -> tuple[str, str]:
    """The prompt's import lines and its helper functions (every top-level def but the entry point)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return "", ""
    lines = prompt.splitlines()
    imports, helpers = [], []
    for node in tree.body:
        segment = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(segment)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != entry_point:
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            helpers.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n".join(imports), "\n\n\n".join(helpers)


def assemble(prompt: str, entry_point: str, code: str) -> str:
    """The program to run for candidate `code`: a whole function is wrapped with the prompt's
    imports and helpers; a bare body is appended to the prompt itself."""
    imports, helpers = prompt_parts(prompt, entry_point)
    if _defines(code, entry_point):
        parts = [imports, code.strip("\n"), helpers]
    else:
        body = textwrap.dedent(code).strip("\n")
        if not body.strip():
            body = "pass"
        parts = [prompt.rstrip("\n"), textwrap.indent(body, "    "), helpers]
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def candidate_view(program: str, prompt: str, entry_point: str) -> str:
    """The candidate as a model should see it: the program without the re-appended helpers."""
    _, helpers = prompt_parts(prompt, entry_point)
    text = program.rstrip("\n")
    if helpers and text.endswith(helpers):
        text = text[: -len(helpers)].rstrip("\n")
    return text
