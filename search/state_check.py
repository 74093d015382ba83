"""A cheap check of the Environment contract's rule that `step(state, action)` never mutates `state`.

A step that changes the state it was given changes the parent every sibling is stepped from, and
the search then gives wrong answers without any error. Checking every step would cost a copy per
step, so only the first few steps of a run are checked: a step with this bug shows it at once.
The check never fails a search: a state that cannot be copied or compared is not checked.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import warnings
from typing import Any

#: how many environment steps of a run are checked
CHECKED_STEPS = 8
#: states of these types cannot be mutated: nothing to check
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), range)


class StateMutationWarning(UserWarning):
    """An environment's step changed the state it was given."""


class _Print:
    """What a state was before a step: an equal deep copy, or else its pickle."""

    __slots__ = ("copy", "pickled")

    def __init__(self, copy: Any, pickled: bytes | None) -> None:
        self.copy = copy
        self.pickled = pickled

    def changed(self, state: Any) -> bool:
        try:
            if self.pickled is not None:
                return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL) != self.pickled
            return not bool(state == self.copy)
        except Exception:
            return False  # cannot tell: say nothing


def fingerprint(state: Any) -> _Print | None:
    """A print of `state` that `changed` compares later, or None when none can be taken: a deep
    copy where the copy equals the original (values with `==`), else the pickled bytes."""
    if type(state) in _IMMUTABLE:
        return None
    try:
        duplicate = copy.deepcopy(state)
        if bool(duplicate == state):
            return _Print(duplicate, None)
    except Exception:
        pass
    try:  # `==` is identity (or raises) for this type: compare the pickled bytes instead
        return _Print(None, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return None


class MutationCheck:
    """Checks the first `steps` environment steps of one run; warns once when one changed its input."""

    def __init__(self, env: Any, steps: int = CHECKED_STEPS) -> None:
        self.env = env
        self.left = steps
        #: the warning, once a step changed its state (at most one per run)
        self.warning: str | None = None

    def before(self, state: Any) -> _Print | None:
        """The print to hand to `after` (None once the checked steps are used up)."""
        if self.left <= 0 or self.warning is not None:
            return None
        self.left -= 1
        return fingerprint(state)

    def after(self, state: Any, before: _Print | None, method: str) -> None:
        if before is None or self.warning is not None or not before.changed(state):
            return
        name = f"{type(self.env).__name__}.{method}"
        self.warning = f"{name} changed the state it was given (states must not be mutated; return a new one)"
        _warn(self.warning, getattr(type(self.env), method, None))


def _warn(message: str, method: Any) -> None:
    """A `StateMutationWarning` that points at the environment's method, where the bug is."""
    code = getattr(inspect.unwrap(method), "__code__", None) if callable(method) else None
    if code is None:
        warnings.warn(message, StateMutationWarning, stacklevel=3)
    else:
        warnings.warn_explicit(message, StateMutationWarning, code.co_filename, code.co_firstlineno)
