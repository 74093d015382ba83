"""Move priors from a model's reply: token log-probabilities where given, sampled frequencies else.

The model is asked to reply with a move only. With `top_logprobs` the server returns, at every
sampled token, the most likely alternatives. Walking the sampled reply token by token, each
alternative token is probability mass for the legal moves whose names it is still consistent
with (a move's name starts with the text so far plus that token, or the text so far plus that
token completes the move's name followed by a non-name character such as a newline or the end
of the reply). The mass of the sampled path itself goes to the move it spells, if any. Mass on
text that names no legal move is dropped, and what is left is normalised over the legal moves
only: illegal moves never get a prior.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from treeagent.agents.llm.types import TokenLogprob

__all__ = ["logprob_mass", "normalise", "sample_frequencies", "uniform"]


def _consistent(text: str, names: Sequence[str]) -> list[str]:
    """Names that `text` is a prefix of, or that `text` spells out and then leaves."""
    out = []
    for name in names:
        if name.startswith(text) or (text.startswith(name) and not text[len(name)].isalnum()):
            out.append(name)
    return out


def logprob_mass(
    tokens: Sequence[TokenLogprob], names: Iterable[str], *, case_sensitive: bool = False
) -> dict[str, float]:
    """Probability mass per move name read from one reply's tokens (not normalised; may be empty)."""
    fold = (lambda s: s) if case_sensitive else str.lower
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(fold(name), name)
    folded = list(by_folded)
    mass: dict[str, float] = {}

    def add(candidates: list[str], amount: float) -> None:
        if not candidates or amount <= 0.0:
            return
        share = amount / len(candidates)
        for c in candidates:
            original = by_folded[c]
            mass[original] = mass.get(original, 0.0) + share

    prefix = ""
    path = 1.0  # probability of the sampled text so far (from where the move starts)
    for token in tokens:
        for alternative, logprob in token.top.items():
            if alternative == token.token:
                continue
            text = fold((prefix + alternative) if prefix else alternative.lstrip())
            if not text:
                continue  # more leading space: its mass follows paths we did not sample
            if prefix and fold(prefix) in folded and not alternative[:1].isalnum():
                add([fold(prefix)], path * math.exp(logprob))  # the reply would end the move here
                continue
            add(_consistent(text, folded), path * math.exp(logprob))
        raw = (prefix + token.token) if prefix else token.token.lstrip()
        sampled = fold(raw)
        if not sampled:
            continue  # leading whitespace
        if prefix and fold(prefix) in folded and not token.token[:1].isalnum():
            add([fold(prefix)], path * math.exp(token.logprob))
            return mass
        matches = _consistent(sampled, folded)
        if not matches:
            return mass  # the reply left the legal moves: nothing more to read
        path *= math.exp(token.logprob)
        prefix = raw
        if len(matches) == 1 and matches[0] != sampled and sampled.startswith(matches[0]):
            add(matches, path)  # spelled out and left behind: the move is complete
            return mass
    if prefix and fold(prefix) in folded:
        add([fold(prefix)], path)  # the reply ended (or was cut) right after the move
    return mass


def normalise(mass: Mapping[int, float], legal: Sequence[int]) -> dict[int, float] | None:
    """`mass` restricted to `legal` and scaled to sum to 1 (None when no legal move has mass)."""
    total = sum(mass.get(a, 0.0) for a in legal)
    if total <= 0.0:
        return None
    return {a: mass.get(a, 0.0) / total for a in legal}


def sample_frequencies(chosen: Sequence[int | None], legal: Sequence[int]) -> dict[int, float] | None:
    """How often each legal move was the parsed reply (illegal and unparsable replies left out)."""
    counts: dict[int, float] = {}
    for action in chosen:
        if action is not None and action in legal:
            counts[action] = counts.get(action, 0.0) + 1.0
    return normalise(counts, legal)


def uniform(legal: Sequence[int]) -> dict[int, float]:
    return {a: 1.0 / len(legal) for a in legal} if legal else {}
