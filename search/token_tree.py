"""The token tree of token-level search (PG-TD): prefixes of the model's output, with the model's
next-token probabilities as priors and rollout rewards backed up along each path.

Every rollout (a completion from some prefix) is inserted token by token; at each position it
records the model's top alternatives, which is PG-TD's "tree cache": choosing where to branch
next needs no model call. Selection descends from the root by P-UCB (PG-TD, after AlphaZero's
PUCT) and stops at the first alternative token no rollout has taken yet: the prefix up to there,
plus that token, is where the next rollout starts. Only alternatives with a prior of at least
`min_prior` are branch points, so the search branches where the model is uncertain and follows
it where it is sure. Pure data and small functions: no model, no environment, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenStep:
    """One generated token, its probability, and the top alternatives at its place (token -> p,
    the generated token usually among them)."""

    token: str
    prob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class TokenNode:
    """A prefix: the tokens on the path from the root. `top` is the next-token distribution
    recorded here by the first rollout that passed (None until one did, or where rollouts ended)."""

    token: str = ""
    prior: float = 1.0
    parent: TokenNode | None = None
    depth: int = 0
    children: dict[str, TokenNode] = field(default_factory=dict)
    top: dict[str, float] | None = None
    visits: int = 0
    value_sum: float = 0.0
    best: float = 0.0
    #: no untaken branch point is left below this node
    exhausted: bool = False

    @property
    def mean(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0

    def text(self) -> str:
        """The prefix as text (the tokens from the root to here)."""
        parts = []
        node: TokenNode | None = self
        while node is not None and node.parent is not None:
            parts.append(node.token)
            node = node.parent
        return "".join(reversed(parts))


#: (parent, option token, its prior, its child or None) -> score; the highest is followed
SelectionFn = Callable[[TokenNode, str, float, "TokenNode | None"], float]


def pucb(exploration: float, use_best: bool = True, log_visits: bool = False) -> SelectionFn:
    """P-UCB: Q + c * P * sqrt(N_parent) / (1 + N_child), AlphaZero's form; with `log_visits`,
    sqrt(log N_parent) as PG-TD writes it. Q is the best reward seen below the child (`use_best`,
    PG-TD's choice: one passing program is what a coding search wants) or the mean; an untaken
    token has Q = 0."""

    def score(parent: TokenNode, token: str, prior: float, child: TokenNode | None) -> float:
        visits = child.visits if child is not None else 0
        q = 0.0 if child is None or not visits else (child.best if use_best else child.mean)
        n = max(parent.visits, 1)
        spread = math.sqrt(math.log(n)) if log_visits else math.sqrt(n)
        return q + exploration * prior * spread / (1 + visits)

    return score


def _same_meaning(a: str, b: str) -> bool:
    """Two whitespace-only tokens (a newline or a longer newline): branching between them rarely
    changes the program, so it is not a branch point."""
    return not a.strip() and not b.strip()


class TokenTree:
    """See the module docstring. `width`: the most alternatives considered per position (PG-TD
    uses 3); `min_prior`: the least probability for an alternative to be a branch point."""

    def __init__(self, *, width: int = 3, min_prior: float = 0.05) -> None:
        if width < 1:
            raise ValueError(f"width must be at least 1, got {width}")
        if not 0.0 <= min_prior <= 1.0:
            raise ValueError(f"min_prior must be in [0, 1], got {min_prior}")
        self.root = TokenNode()
        self.width = width
        self.min_prior = min_prior
        self.rollouts = 0

    # -- growing -------------------------------------------------------------------------------
    def child(self, parent: TokenNode, token: str, prior: float) -> TokenNode:
        """The child of `parent` for `token`, made when missing."""
        node = parent.children.get(token)
        if node is None:
            node = TokenNode(token=token, prior=prior, parent=parent, depth=parent.depth + 1)
            parent.children[token] = node
        return node

    def insert(self, start: TokenNode, steps: Iterable[TokenStep], reward: float) -> TokenNode:
        """Add a rollout that continued from `start` with `steps`, and back its reward up to the
        root; returns the node where it ended."""
        node = start
        for step in steps:
            if node.top is None:
                node.top = dict(step.top) if step.top else {step.token: step.prob}
            node = self.child(node, step.token, step.prob)
        self.rollouts += 1
        self.backup(node, reward)
        return node

    @staticmethod
    def backup(node: TokenNode, reward: float) -> None:
        walk: TokenNode | None = node
        while walk is not None:
            walk.visits += 1
            walk.value_sum += reward
            walk.best = max(walk.best, reward)
            walk = walk.parent

    # -- choosing where to branch ------------------------------------------------------------------
    def options(self, node: TokenNode) -> list[tuple[str, float]]:
        """The tokens selection may follow at `node`: its taken children, and its untaken top
        alternatives that are likely enough and differ in more than whitespace."""
        if node.top is None:
            return []
        ranked = sorted(node.top.items(), key=lambda kv: -kv[1])[: self.width]
        taken = [t for t in node.children]
        out: dict[str, float] = {t: node.children[t].prior for t in taken}
        for token, prob in ranked:
            if token in out or prob < self.min_prior:
                continue
            if any(_same_meaning(token, t) for t in taken):
                continue
            out[token] = prob
        return [(t, p) for t, p in out.items() if t not in node.children or not node.children[t].exhausted]

    def select(self, score: SelectionFn) -> tuple[TokenNode, str, float] | None:
        """The next branch point, as (prefix node, untaken token, its prior), or None when no
        branch point is left (or no rollout has been inserted yet: the first starts at the root)."""
        if self.root.top is None:
            return None
        for _ in range(10_000):
            if self.root.exhausted:
                return None
            node = self.root
            while True:
                choices = self.options(node)
                if not choices:
                    self._mark_exhausted(node)
                    break
                token, prior = max(choices, key=lambda tp: score(node, tp[0], tp[1], node.children.get(tp[0])))
                child = node.children.get(token)
                if child is None:
                    return node, token, prior
                node = child
        return None

    def _mark_exhausted(self, node: TokenNode) -> None:
        walk: TokenNode | None = node
        while walk is not None and not self.options(walk):
            walk.exhausted = True
            walk = walk.parent

    def branch_points(self) -> list[tuple[TokenNode, str, float]]:
        """Every untaken alternative in the tree (for inspection and tests)."""
        found = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            for token, prior in self.options(node):
                if token not in node.children:
                    found.append((node, token, prior))
            stack.extend(node.children.values())
        return found


def steps_from(tokens: Sequence[tuple[str, float, dict[str, float]]]) -> list[TokenStep]:
    """TokenSteps from (token, logprob, {alternative: logprob}) triples, as a model returns them."""
    return [TokenStep(t, math.exp(lp), {a: math.exp(alp) for a, alp in top.items()}) for t, lp, top in tokens]


def token_edits(
    prefix: str,
    steps: Sequence[tuple[str, float, dict[str, float]]],
    rest: str,
    *,
    limit: int,
    min_prior: float = 0.05,
) -> list[tuple[float, str]]:
    """The `limit` likeliest one-token edits of a rollout (`prefix`, then `steps` as the model
    returns them, then `rest`): at each position, an alternative the model gave at least
    `min_prior` takes the sampled token's place and the rest of the text stays. Returned as
    (prior, edited text), the likeliest first. A sampled token the model itself found unlikely is
    the commonest slip in a near-miss program, and testing its fix needs no model call.
    Alternatives that differ from the sampled token only in whitespace are skipped."""
    found: list[tuple[float, int, str]] = []
    for index, (token, _, top) in enumerate(steps):
        for alternative, logprob in top.items():
            prior = math.exp(logprob)
            if alternative == token or prior < min_prior or _same_meaning(alternative, token):
                continue
            found.append((prior, index, alternative))
    if not found:
        return []
    texts = [token for token, _, _ in steps]
    edits = []
    for prior, index, alternative in sorted(found, key=lambda f: (-f[0], f[1]))[:limit]:
        edits.append((prior, prefix + "".join(texts[:index]) + alternative + "".join(texts[index + 1 :]) + rest))
    return edits
