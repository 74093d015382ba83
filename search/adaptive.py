"""Adaptive search: every LLM call goes to the operator that has been paying off on this task.

Operators ("arms"), each one LLM call per pull:
- `branch`: token-level search (PG-TD). The token tree (`token_tree.py`) picks a branch point by
  P-UCB over the model's own next-token priors and the rewards of earlier rollouts; a greedy
  rollout continues from there. The first branch pull is the greedy program itself, from the root.
- `sample`: a fresh sample at `temperature` from the root (its tokens join the token tree too).
- `revise` (off by default): the policy's revision of the best program that still fails a test
  (test feedback in the prompt); only offered when some program failed tests it could pass. On
  our dev sets it never paid: in 145 pulls (easy set, 60 problems, and the dev set's example
  half, 16 calls each) no revision beat the best pass rate so far, against 86 gains in 240 branch
  pulls and 34 in 612 samples, and a revision costs about 1.6x a rollout's tokens (its prompt
  holds the failing program and the test report). The bandit cannot learn that within one
  problem, since every arm gets a first pull, so the default leaves it out.

Which arms are open depends on what the tests say so far ("Scaling test-time compute optimally":
local revision pays on problems the model nearly solves, parallel sampling on the rest):
- No tests to score by: token branches have no reward to climb and their near-greedy programs
  would skew the agreement that chooses the answer, so after the greedy program every call is an
  independent sample (dev set, 20 problems without examples, at 4/8/16 calls: 0.20/0.25/0.25 this
  way, 0.15/0.20/0.20 with branches).
- Tests, but every program so far fails all of them: a branch or a revision next to such a program
  is blind, so the call is a fresh sample (`local_needs_signal`).
- Some program passes part of the tests (a near miss): every arm, by UCB1 on their gain rate
  after one pull each. A pull gains when its program beats the best value so far, or, on a task
  with no tests, when it shows a behaviour not seen before (see `gain`).
- Token edits, free of calls: while no program passes every public test, each rollout that loads
  but fails a test is tried again with one token changed, at the `edits` places where the model
  gave another token the most probability (`token_edits`; programs run on the public tests, no
  LLM call). A sampled token the model found unlikely is the commonest slip of a near miss (dev
  set, 20 problems with examples, 16 calls each: 4 edits per rollout took the first public
  passer's hidden pass rate from 8/20 to 10/20, two problems no sample solved).
- A program passes every public test: the search stops (`confirm=0`, the default). With
  `confirm=N`, up to N more calls go to independent samples first, and the search stops as soon
  as two passers behave alike on the probe inputs (agreement then chooses among the passers).
  On our dev sets confirmation bought nothing: the public passers that fail the hidden tests (6
  of 14 first passers on the easy set) were not rescued by more samples. Replayed on the recorded
  sample streams of the easy set and the dev set's example half, pass@1 at 4/8/16 is the same
  for confirm 0, 2, 4 and "until two agree"; confirm=2 cost 2-8% more tokens.
No call goes to the model's judgement of its own programs: the rewards come from the environment.
The search stops when a pass is confirmed or the budget is spent; its order of calls does not
depend on the budget, so a run at budget B is the first B calls of a longer one (the benchmark
reads every budget off one run).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from treeagent.agents.base import NodeView, OutputPolicy, PrefixPolicy, Proposal
from treeagent.search.controller import Controller
from treeagent.search.node import Node
from treeagent.search.run import SearchRun
from treeagent.search.token_tree import SelectionFn, TokenNode, TokenTree, pucb, steps_from, token_edits

ARMS = ("branch", "sample", "revise")
#: the arms a search uses unless told otherwise (see the module docstring on `revise`)
DEFAULT_ARMS = ("branch", "sample")


@dataclass(slots=True)
class ArmStats:
    pulls: int = 0
    gains: int = 0


def ucb1(stats: dict[str, ArmStats], available: Sequence[str], c: float = 1.0) -> str:
    """The arm to pull: an untried one first (in `available`'s order), else the highest UCB1."""
    for arm in available:
        if stats[arm].pulls == 0:
            return arm
    total = sum(stats[a].pulls for a in available)

    def score(arm: str) -> float:
        s = stats[arm]
        return s.gains / s.pulls + c * math.sqrt(2 * math.log(total) / s.pulls)

    return max(available, key=score)


class AdaptiveSearch(Controller):
    """See the module docstring. The policy must implement `PrefixPolicy` for the `branch` and
    `sample` arms (the coding policy does); `revise` uses its ordinary `propose` on a program.

    arms: the operators to use, in their first-pull order (`("branch",)` is plain PG-TD).
    exploration: P-UCB's constant in the token tree (PG-TD uses 4).
    width, min_prior: the token tree's branching (see `TokenTree`).
    temperature: the `sample` arm's sampling temperature.
    max_stalls: stop after this many failed pulls in a row (a dead server, replies with no code).
    local_needs_signal: open the branch and revise arms only once some program passes part of the
        tests (on with the sample arm; see the module docstring).
    confirm: calls spent on samples after the first full pass, unless two passers agree first
        (0: the first full pass ends the search).
    edits: one-token edits tried per failing rollout, with no LLM call (0: none; needs a policy
        with `from_output`).
    """

    name = "adaptive"

    def __init__(
        self,
        *args: Any,
        arms: Sequence[str] = DEFAULT_ARMS,
        exploration: float = 2.0,
        width: int = 3,
        min_prior: float = 0.05,
        temperature: float = 0.8,
        arm_exploration: float = 1.0,
        max_stalls: int = 3,
        local_needs_signal: bool = True,
        confirm: int = 0,
        edits: int = 4,
        selection: SelectionFn | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("max_depth", 8)
        super().__init__(*args, **kwargs)
        unknown = [a for a in arms if a not in ARMS]
        if not arms or unknown:
            raise ValueError(f"arms must be a non-empty subset of {ARMS}, got {list(arms)}")
        if ("branch" in arms or "sample" in arms) and not isinstance(self.policy, PrefixPolicy):
            raise TypeError(
                f"the branch and sample arms need a policy with continue_from(); {type(self.policy).__name__} has none"
            )
        if "revise" in arms and getattr(self.policy, "revise", True) is False:
            # its revise pulls would make no program: each would be a wasted pull (a stall)
            raise ValueError(
                f"the revise arm needs a policy that revises; this {type(self.policy).__name__} "
                "was made with revise=False"
            )
        self.arms = tuple(arms)
        self.exploration = exploration
        self.width = width
        self.min_prior = min_prior
        self.temperature = temperature
        self.arm_exploration = arm_exploration
        self.max_stalls = max_stalls
        # Both fall back on fresh samples: without the sample arm (plain PG-TD) they are off.
        self.local_needs_signal = local_needs_signal and "sample" in self.arms
        self.confirm = confirm if "sample" in self.arms else 0
        if edits < 0:
            raise ValueError(f"edits must be 0 or more, got {edits}")
        self.edits = edits
        self.selection = selection or pucb(exploration)
        #: the last run's token tree and arm statistics (for inspection and the benchmark)
        self.tokens: TokenTree | None = None
        self.arm_stats: dict[str, ArmStats] = {}
        self.pulls: list[str] = []
        #: whether the task scores programs by tests (known after the first program); None before
        self.scored: bool | None = None
        #: the best program value so far in the last run
        self.best_value = -1.0

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "arms": list(self.arms),
            "exploration": self.exploration,
            "width": self.width,
            "min_prior": self.min_prior,
            "temperature": self.temperature,
            "local_needs_signal": self.local_needs_signal,
            "confirm": self.confirm,
            "edits": self.edits,
        }

    async def search(self, run: SearchRun) -> None:
        tree = TokenTree(width=self.width, min_prior=self.min_prior)
        stats = {arm: ArmStats() for arm in self.arms}
        self.tokens, self.arm_stats, self.pulls = tree, stats, []
        seen: set[str] = set()
        stalls = 0
        self.scored = None
        self.best_value = -1.0
        passers: list[str | None] = []  # the behaviour signatures of programs passing every public test
        since = 0  # calls made since the first of them
        while not run.meter.exhausted() and stalls < self.max_stalls and not settled(passers, since, self.confirm):
            # Confirming a pass takes independent samples, for agreement to choose among passers.
            available = ["sample"] if passers else [a for a in self.arms if self._available(a, run, tree)]
            if not available:
                break
            arm = ucb1(stats, available, self.arm_exploration)
            children = await self._pull(arm, run, tree)
            if children is None:  # the budget allowed no expansion
                break
            stats[arm].pulls += 1
            self.pulls.append(arm)
            since += bool(passers)
            if not children or children[0].failed:  # the policy failed, or proposed nothing
                stalls += 1
                continue
            stalls = 0
            child = children[0]
            value = await run.evaluate(child)
            if self.scored is None and child.step is not None:
                self.scored = bool(child.step.info.get("total"))
            if gain(child, value, self.best_value, seen):
                stats[arm].gains += 1
            self.best_value = max(self.best_value, value)
            if child.step is not None and child.step.terminal:
                passers.append(child.step.info.get("signature"))
            meta = run.proposal_meta.get(child.id, {})
            if meta.get("steps") is not None:
                start = _prefix_node(tree, meta.get("prefix", ""))
                tree.insert(start, steps_from(meta["steps"]), value)
            if self.scored and not passers and child.step is not None and child.step.info.get("loaded"):
                passers += await self._try_edits(run, child, meta)

    # -- arms ------------------------------------------------------------------------------------
    def _available(self, arm: str, run: SearchRun, tree: TokenTree) -> bool:
        if arm == "branch":
            # Without tests to score by, token search has no reward to climb: its one pull is the
            # greedy program, and independent samples (whose agreement chooses) get the rest.
            if tree.rollouts and self.scored is False and len(self.arms) > 1:
                return False
            if tree.rollouts and not self._near_miss():
                return False
            return tree.rollouts == 0 or not tree.root.exhausted
        if arm == "revise":
            return self._near_miss() and _revisable(run) is not None
        return True

    def _near_miss(self) -> bool:
        """Whether local operators (a token branch, a revision) have something to work from: some
        program passes part of the public tests. Next to programs that fail every test they are
        blind, and a fresh sample is worth more (HumanEval: best-of-N found public-test passers on
        problems where branches and revisions of failing programs found none)."""
        return not self.local_needs_signal or self.best_value > 0.0

    async def _pull(self, arm: str, run: SearchRun, tree: TokenTree) -> list[Node] | None:
        """The pull's new program (a list of at most one node; empty when the policy failed or
        proposed nothing), or None when the budget allowed no expansion."""
        root = run.tree.root
        if arm == "revise":
            target = _revisable(run)
            assert target is not None
            children = await run.expand(target, 1)
        else:
            prefix, temperature = "", self.temperature if arm == "sample" else 0.0
            if arm == "branch" and tree.rollouts:
                point = tree.select(self.selection)
                if point is None:
                    return None
                node, token, prior = point
                prefix = tree.child(node, token, prior).text()
            children = await run.expand(root, 1, propose=self._rollout(prefix, temperature))
        return children

    async def _try_edits(self, run: SearchRun, rollout: Node, meta: dict[str, Any]) -> list[str | None]:
        """Run a failing rollout's likeliest one-token edits (no LLM call; see the module
        docstring); returns the behaviour signatures of those that pass every public test."""
        policy = self.policy
        if not self.edits or not isinstance(policy, OutputPolicy) or "rest" not in meta or "steps" not in meta:
            return []
        edits = token_edits(meta["prefix"], meta["steps"], meta["rest"], limit=self.edits, min_prior=self.min_prior)
        if not edits:
            return []

        async def propose(view: NodeView, k: int) -> list[Proposal]:
            out = []
            for prior, text in edits:
                proposal = policy.from_output(view, text)
                out.append(replace(proposal, prior=prior, meta={**proposal.meta, "edit_of": rollout.id}))
            return out

        children = await run.expand(run.tree.root, len(edits), propose=propose, calls=False) or []
        live = [c for c in children if not c.failed]
        values = await asyncio.gather(*(run.evaluate(c) for c in live))
        self.best_value = max([self.best_value, *values])
        return [c.step.info.get("signature") for c in live if c.step is not None and c.step.terminal]

    def _rollout(self, prefix: str, temperature: float) -> Any:
        policy = self.policy
        assert isinstance(policy, PrefixPolicy)

        async def propose(view: NodeView, k: int) -> list[Proposal]:
            return [await policy.continue_from(view, prefix, temperature=temperature)]

        return propose


def settled(passers: list[str | None], since: int, confirm: int) -> bool:
    """Whether the search may stop: a program passed every public test, and either `confirm` more
    calls have been spent since the first one did, or two passers behave alike (agreement)."""
    if not passers:
        return False
    if since >= confirm:
        return True
    signatures = [s for s in passers if s is not None]
    return len(signatures) != len(set(signatures))


def _prefix_node(tree: TokenTree, prefix: str) -> TokenNode:
    """The token-tree node whose text is `prefix` (found by walking the children)."""
    node = tree.root
    consumed = 0
    while consumed < len(prefix):
        for token, child in node.children.items():
            if token and prefix.startswith(token, consumed):
                node, consumed = child, consumed + len(token)
                break
        else:
            # A prefix the tree does not hold token by token: attach it as one step.
            return tree.child(node, prefix[consumed:], 1.0)
    return node


def _revisable(run: SearchRun) -> Node | None:
    """The program to revise: the best-valued loaded program that fails some test and is not
    already deep in revisions."""
    best: Node | None = None
    for node in run.tree.root.children:
        for candidate in _lineage(node):
            if candidate.failed or candidate.step is None or candidate.depth >= 3 or candidate.children:
                continue
            info = candidate.step.info
            if not info.get("loaded") or not info.get("total") or info.get("passed") == info.get("total"):
                continue
            if best is None or (candidate.value or 0.0) > (best.value or 0.0):
                best = candidate
    return best


def _lineage(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


def gain(child: Node, value: float, best: float, seen: set[str]) -> bool:
    """Did this pull pay? With tests to score by: it beat the best value so far. Without (every
    value equal): it behaved in a way no earlier program did, without failing on every probe."""
    step = child.step
    info = step.info if step is not None else {}
    signature = info.get("signature")
    new = signature is not None and signature not in seen
    if signature is not None:
        seen.add(signature)
    if info.get("total"):
        return value > best
    probes = info.get("probes") or 0
    return bool(new and info.get("loaded") and probes and info.get("probe_errors", 0) < probes)
