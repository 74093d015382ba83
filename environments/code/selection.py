"""Choosing the answer among tested candidates: public tests first, then execution agreement.

A candidate that passes more public tests wins. Among equals (all passing, or a problem with no
public tests at all), the one that raises on fewer probe inputs wins, and then the one whose
behaviour on the probe inputs is shared by the most candidates (MBR-exec, CodeT's agreement,
AlphaCode's clustering): independent attempts that agree are more often right than a lone one.
Raising comes first because programs that crash alike agree for free: on our dev sets' problems
without examples, the right program was often a lone one that raised on no probe, outvoted by a
cluster of 3-6 that raised on most (replayed over 6 runs of 20 problems, 28 -> 32 solved at 16
calls, never fewer in any run; no change on problems with examples). On fresh data it changed
nothing: the easy set with its examples removed (60) and HumanEval (164) score the same.
Ties go to the earliest candidate, which is the greedy program where a solver writes it first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from treeagent.environments.code.env import CodeState


def agreement_counts(states: Sequence[CodeState]) -> Counter[str]:
    """How many loaded candidates share each behaviour signature."""
    return Counter(s.signature for s in states if s.loaded and s.signature is not None)


def rank_key(
    state: CodeState, counts: Counter[str], value: float = 0.0, order: int = 0
) -> tuple[bool, float, bool, bool, float, int, float, int]:
    """The sort key of one candidate (higher is better); `order` is its place in writing order."""
    all_errors = state.probes > 0 and state.probe_errors >= state.probes
    cluster = counts.get(state.signature, 0) if state.signature is not None and state.loaded else 0
    clean = 1.0 - (state.probe_errors / state.probes if state.probes else 0.0)
    return (state.all_passed, state.pass_rate, state.loaded, not all_errors, clean, cluster, value, -order)


def best_index(states: Sequence[CodeState], values: Sequence[float] | None = None) -> int | None:
    """The index of the chosen candidate among `states` (given in writing order), None if empty."""
    if not states:
        return None
    counts = agreement_counts(states)
    scores = values if values is not None else [0.0] * len(states)
    return max(range(len(states)), key=lambda i: rank_key(states[i], counts, scores[i], i))
