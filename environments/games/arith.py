"""Exact arithmetic for the Game of 24: the moves, their text form, and a safe parser for both.

Shared by the environment (game24.py) and the solver (solve24.py), so that the solver plays
exactly the moves the environment allows. Parsing uses `ast` on a whitelist of number literals and
the four operators: model output is never evaluated as Python.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "OPS",
    "Combine",
    "ParseError",
    "check_answer",
    "combinations",
    "evaluate",
    "fmt",
    "legal_moves",
    "parse_combine",
]

OPS = ("+", "-", "*", "/")
_COMMUTATIVE = frozenset("+*")


class ParseError(ValueError):
    """Text that is not one combination of two numbers."""


def fmt(value: Fraction) -> str:
    """A number as a model writes it: "24", "-3", "8/3"."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _operand(value: Fraction) -> str:
    text = fmt(value)
    return f"({text})" if value.denominator != 1 or value < 0 else text


def apply_op(left: Fraction, op: str, right: Fraction) -> Fraction:
    """`left op right`; ZeroDivisionError for a division by zero, ParseError for an unknown operator."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    raise ParseError(f"unknown operator {op!r}; use one of + - * /")


@dataclass(frozen=True, slots=True)
class Combine:
    """One move: replace `left` and `right` by `left op right`. Text form: "6 * 4 = 24"."""

    left: Fraction
    op: str
    right: Fraction

    @classmethod
    def of(cls, left: Fraction | int, op: str, right: Fraction | int) -> Combine:
        """The canonical move: larger operand first for + and *."""
        a, b = Fraction(left), Fraction(right)
        if op not in OPS:
            raise ParseError(f"unknown operator {op!r}; use one of + - * /")
        if op in _COMMUTATIVE and a < b:
            a, b = b, a
        return cls(a, op, b)

    @property
    def result(self) -> Fraction:
        """The combined number; ZeroDivisionError for "x / 0"."""
        return apply_op(self.left, self.op, self.right)

    def text(self, result: Fraction | None) -> str:
        """The move as text, given its result (None for a division by zero)."""
        head = f"{_operand(self.left)} {self.op} {_operand(self.right)}"
        return head if result is None else f"{head} = {fmt(result)}"

    def __str__(self) -> str:
        try:
            result: Fraction | None = self.result
        except (ZeroDivisionError, ParseError):
            result = None
        return self.text(result)


def _pairs(numbers: Sequence[Fraction]) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) of a sorted sequence, one per distinct pair of values."""
    n = len(numbers)
    for i in range(n - 1):
        if i and numbers[i] == numbers[i - 1]:
            continue
        for j in range(i + 1, n):
            if j > i + 1 and numbers[j] == numbers[j - 1]:
                continue
            yield i, j


def legal_moves(numbers: Sequence[Fraction]) -> list[Combine]:
    """Every distinct legal move on a sorted multiset, in the order `combinations` gives them."""
    moves: list[Combine] = []
    add = moves.append
    for i, j in _pairs(numbers):
        a, b = numbers[i], numbers[j]  # a <= b
        add(Combine(b, "+", a))
        add(Combine(b, "-", a))
        distinct = a != b
        if distinct:
            add(Combine(a, "-", b))
        add(Combine(b, "*", a))
        if a:
            add(Combine(b, "/", a))
        if b and distinct:
            add(Combine(a, "/", b))
    return moves


def combinations(numbers: Sequence[Fraction]) -> Iterator[tuple[Combine, Fraction, tuple[Fraction, ...]]]:
    """Every distinct legal move on a sorted multiset: (move, result, the other numbers).

    Equal numbers are one choice, commutative operations are listed once, division by zero is
    left out. Order is deterministic: pairs in sorted order, then + - * /, larger-first for - and /.
    """
    for i, j in _pairs(numbers):
        a, b = numbers[i], numbers[j]  # a <= b
        rest = (*numbers[:i], *numbers[i + 1 : j], *numbers[j + 1 :])
        yield Combine(b, "+", a), b + a, rest
        yield Combine(b, "-", a), b - a, rest
        if a != b:
            yield Combine(a, "-", b), a - b, rest
        yield Combine(b, "*", a), b * a, rest
        if a != 0:
            yield Combine(b, "/", a), b / a, rest
        if b != 0 and a != b:
            yield Combine(a, "/", b), a / b, rest


# -- parsing --------------------------------------------------------------------------------------

_LEFT_NOTE = re.compile(r"\(\s*left\s*:[^)]*\)\s*$", re.IGNORECASE)
_TIMES_X = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")
_ALIASES = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "：": ":"})
_BINOPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def evaluate(text: str) -> Fraction:
    """The exact value of an arithmetic expression of numbers, + - * / and parentheses.

    Raises ParseError for anything else (names, calls, powers) and for a division by zero.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ParseError(f"{text!r} is not an arithmetic expression") from None
    return _value(tree.body, text)


def _value(node: ast.expr, text: str) -> Fraction:
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        if isinstance(node.value, int):
            return Fraction(node.value)
        if isinstance(node.value, float):
            return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _value(node.operand, text)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        try:
            return apply_op(_value(node.left, text), _BINOPS[type(node.op)], _value(node.right, text))
        except ZeroDivisionError:
            raise ParseError(f"{text!r} divides by zero") from None
    raise ParseError(f"{text!r} may hold only numbers, + - * / and parentheses")


def _number(node: ast.expr, text: str) -> Fraction:
    """An operand must be one number: 7, -2, 2.5 or a fraction literal like 8/3."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_number(node.operand, text)
    if isinstance(node, ast.Constant):
        return _value(node, text)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.right, ast.Constant)
        and type(node.left.value) is int
        and type(node.right.value) is int
    ):
        return _value(node, text)
    raise ParseError(f"{text!r} must combine exactly two numbers, like '4 * 6 = 24'")


def parse_combine(text: str) -> Combine:
    """A move from what a model writes: "4*6=24", "4 * 6", "(4 * 6)", "4 x 6 = 24 (left: 24)".

    The right-hand side, when given, must be the true result. Raises ParseError with the reason.
    """
    if not isinstance(text, str):
        raise ParseError(f"a move is text like '4 * 6 = 24', not {text!r}")
    cleaned = _LEFT_NOTE.sub("", text.translate(_ALIASES)).strip().rstrip(".")
    cleaned = _TIMES_X.sub(" * ", cleaned)
    if not cleaned:
        raise ParseError("empty move; write one like '4 * 6 = 24'")
    lhs, eq, rhs = cleaned.partition("=")
    try:
        tree = ast.parse(lhs.strip(), mode="eval").body
    except SyntaxError:
        raise ParseError(f"cannot read {text!r}; write one move like '4 * 6 = 24'") from None
    if not (isinstance(tree, ast.BinOp) and type(tree.op) in _BINOPS):
        raise ParseError(f"{text!r} must combine exactly two numbers, like '4 * 6 = 24'")
    move = Combine.of(_number(tree.left, text), _BINOPS[type(tree.op)], _number(tree.right, text))
    try:
        result = move.result
    except ZeroDivisionError:
        raise ParseError(f"{text!r} divides by zero") from None
    if eq:
        claimed = evaluate(rhs) if rhs.strip() else None
        if claimed is not None and claimed != result:
            raise ParseError(f"{lhs.strip()} is {fmt(result)}, not {rhs.strip()}")
    return move


def check_answer(expression: str, numbers: Sequence[Fraction | int], target: Fraction | int = 24) -> bool:
    """Whether a whole answer ("(10 - 4) * (13 - 9)", "... = 24") uses each number once and hits target.

    The Tree of Thoughts final-answer check. Raises ParseError for text that is not arithmetic;
    a negative number counts only as a literal ("-2"), never as a unary minus on a sub-expression.
    """
    lhs = _LEFT_NOTE.sub("", expression.translate(_ALIASES)).strip().rstrip(".").split("=", 1)[0]
    try:
        tree = ast.parse(_TIMES_X.sub(" * ", lhs).strip(), mode="eval").body
    except SyntaxError:
        raise ParseError(f"{expression!r} is not an arithmetic expression") from None
    used: list[Fraction] = []
    _leaves(tree, expression, used)
    value = _value(tree, expression)
    return sorted(used) == sorted(Fraction(n) for n in numbers) and value == Fraction(target)


def _leaves(node: ast.expr, text: str, out: list[Fraction]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _leaves(node.left, text, out)
        _leaves(node.right, text, out)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        out.append(-_value(node.operand, text))
    elif isinstance(node, ast.Constant):
        out.append(_value(node, text))
    else:
        raise ParseError(f"{text!r} may hold only numbers, + - * / and parentheses")
