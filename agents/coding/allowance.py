"""A per-problem allowance of model calls shared by a solver's policy, evaluator and reflector.

The search's budget is checked before each expansion, but one expansion may make several calls
(k samples, their self-evaluations, a reflection). Every coding agent takes its calls from this
allowance first, so a solver never spends more than its budget: when the allowance runs dry, a
policy proposes fewer candidates, an evaluator falls back to the test pass rate, and a reflector
stays silent.
"""

from __future__ import annotations


class CallAllowance:
    """`take(n)` grants up to n calls (0 when none are left). Not thread-safe: one event loop."""

    __slots__ = ("granted", "limit")

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"a call allowance cannot be negative, got {limit}")
        self.limit = limit
        self.granted = 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.granted)

    def take(self, n: int = 1) -> int:
        if n <= 0:
            return 0
        left = self.remaining
        got = n if left is None else min(n, left)
        self.granted += got
        return got

    def give_back(self, n: int) -> None:
        """Return calls that were granted but not made (a request that was never sent)."""
        self.granted = max(0, self.granted - n)
