"""Monte Carlo tree search: injected selection (UCT, PUCT or any score function), value backup,
MCTS-solver, LATS-style hooks.

One simulation selects a path from the root by the selection function (search/selection.py:
it scores each child, the highest is followed), expands the leaf (the policy
proposes actions, each is stepped into a child), evaluates it (the evaluator: random rollouts,
an LLM's self-evaluation, test pass rates, ...), and backs the value up the path. Values are kept
from the side of each node's mover, so two-player zero-sum games back up correctly.

- `evaluate="leaf"` scores the expanded node itself (OpenSpiel's MCTS); `evaluate="children"`
  scores every new child and backs each up (LATS: n samples per expansion, each one scored).
- The solver propagates proven results: a child that is a proven win for the player to move
  proves its parent, and a node whose children are all proven losses is proven too. A proven
  root (or a solved single-agent task) ends the search early.
- With a reflector, a failed terminal trajectory becomes a lesson shown to later prompts (LATS).
- `concurrency > 1` runs that many simulations at once with virtual loss (batch-synchronous, so
  results are reproducible for a seed).

The hot path (cheap environments, one simulation at a time) makes no await that suspends: a game
search pays for coroutine calls only, never for an event-loop round trip.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal

from treeagent.search.controller import Controller
from treeagent.search.node import Node, Status
from treeagent.search.run import SearchRun
from treeagent.search.selection import SelectionFn, SelectionName, named_selection

_INF = float("inf")
_STALL_LIMIT = 10_000  # simulations in a row that expand nothing: the reachable tree is exhausted


class MCTS(Controller):
    name = "mcts"
    default_max_depth = 100

    def __init__(
        self,
        *args: Any,
        simulations: int | None = None,
        exploration: float = math.sqrt(2),
        selection: SelectionName | SelectionFn = "uct",
        random_ties: bool | None = None,
        children_per_expansion: int | None = None,
        evaluate: Literal["leaf", "children"] = "leaf",
        solver: bool = True,
        fpu: float = 0.5,
        **kwargs: Any,
    ) -> None:
        """`selection`: "uct", "puct" (with `exploration` as c and, for PUCT, `fpu` as the value of
        an unvisited child), or a function (parent_visits, child, prior) -> score.
        `random_ties`: shuffle each expansion's children (seeded), so that equal scores are broken
        at random instead of by the policy's order; by default on for UCT and for a function (UCT
        takes the first unvisited child), off for PUCT (equal priors keep the policy's order).
        `children_per_expansion`: None asks for every legal action where the environment lists
        them (games), else 5 samples (LATS' default for a model)."""
        super().__init__(*args, **kwargs)
        if simulations is not None and simulations < 1:
            raise ValueError(f"simulations must be at least 1, got {simulations}")
        if simulations is None and not self.budget.is_bounded():
            raise ValueError("MCTS needs a limit: pass simulations=N or a budget such as Budget(max_expansions=N)")
        if exploration < 0:
            raise ValueError(f"exploration must be >= 0, got {exploration}")
        if isinstance(selection, str):
            score = named_selection(selection, exploration, fpu)
        elif callable(selection):
            score = selection
        else:
            raise TypeError(f"selection must be 'uct', 'puct' or a function, got {type(selection).__name__}")
        if evaluate not in ("leaf", "children"):
            raise ValueError(f"evaluate must be 'leaf' or 'children', got {evaluate!r}")
        if children_per_expansion is not None and children_per_expansion < 1:
            raise ValueError(f"children_per_expansion must be at least 1, got {children_per_expansion}")
        self.simulations = simulations
        self.exploration = exploration
        self.selection = selection
        self.score: SelectionFn = score
        self.random_ties = random_ties if random_ties is not None else selection != "puct"
        self.children_per_expansion = children_per_expansion
        self.evaluate_mode = evaluate
        self.solver = solver
        self.fpu = fpu

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "simulations": self.simulations,
            "exploration": self.exploration,
            "selection": self.selection if isinstance(self.selection, str) else _function_name(self.selection),
            "random_ties": self.random_ties,
            "children_per_expansion": self.children_per_expansion,
            "evaluate": self.evaluate_mode,
            "solver": self.solver,
        }

    # -- the loop ------------------------------------------------------------------------------------
    async def search(self, run: SearchRun) -> None:
        root = run.tree.root
        stats = run.meter.stats
        limit = self.simulations if self.simulations is not None else -1
        stalled = 0
        while stats.simulations != limit and root.proven is None and run.solution is None:
            if run.meter.exhausted():
                break
            before = stats.expansions
            if self.concurrency == 1:
                if not await self._simulate(run):
                    break
                stats.simulations += 1
            else:
                count = await self._simulate_batch(run, limit)
                if count == 0:
                    break
                stats.simulations += count
            stalled = stalled + 1 if stats.expansions == before else 0
            if stalled >= _STALL_LIMIT:
                break

    async def _simulate(self, run: SearchRun) -> bool:
        path = self._select(run, run.tree.root)
        if path is None:
            return False
        leaf = path[-1]
        if leaf.status == Status.OPEN and leaf.depth < self.max_depth:
            children = await run.expand(leaf, self._width(run), lazy=self._lazy(run))
            if children is None:
                return False
            self._after_expand(run, leaf)
            if self.evaluate_mode == "children" and children:
                await self._evaluate_children(run, path, children)
                return True
        value = await self._leaf_value(run, leaf)
        self._backup(path, value)
        return True

    async def _simulate_batch(self, run: SearchRun, limit: int) -> int:
        """Select up to `concurrency` distinct leaves under virtual loss, then grow them together."""
        paths: list[list[Node]] = []
        room = self.concurrency if limit < 0 else min(self.concurrency, limit - run.meter.stats.simulations)
        for _ in range(room):
            path = self._select(run, run.tree.root)
            if path is None:
                break
            leaf = path[-1]
            if leaf.pending:
                break
            leaf.pending = True
            for node in path:
                node.visits += 1  # virtual loss: count a visit worth nothing until the value arrives
            paths.append(path)
        results = await asyncio.gather(*(self._grow_pending(run, path) for path in paths))
        done = 0
        for path, outcome in zip(paths, results, strict=True):
            for node in path:
                node.visits -= 1
            path[-1].pending = False
            if outcome is None:
                continue
            done += 1
            for leaf_path, value in outcome:
                self._backup(leaf_path, value)
        return done

    async def _grow_pending(self, run: SearchRun, path: list[Node]) -> list[tuple[list[Node], float]] | None:
        leaf = path[-1]
        if leaf.status == Status.OPEN and leaf.depth < self.max_depth:
            children = await run.expand(leaf, self._width(run), lazy=self._lazy(run))
            if children is None:
                return None
            self._after_expand(run, leaf)
            if self.evaluate_mode == "children" and children:
                values = await asyncio.gather(*(self._leaf_value(run, c) for c in children))
                return [([*path, c], v) for c, v in zip(children, values, strict=True)]
        return [(path, await self._leaf_value(run, leaf))]

    # -- pieces ------------------------------------------------------------------------------------
    def _width(self, run: SearchRun) -> int | None:
        """Children per expansion: as set, else every legal action (None) where the environment
        lists them (games), else 5 samples (LATS' default for a model)."""
        if self.children_per_expansion is not None:
            return self.children_per_expansion
        return None if run.finite_actions else 5

    def _lazy(self, run: SearchRun) -> bool:
        """Step children only when selected: cheap environments, scoring the leaf itself."""
        return run.cheap and self.evaluate_mode == "leaf"

    def _after_expand(self, run: SearchRun, leaf: Node) -> None:
        children = leaf.children
        if self.random_ties and len(children) > 1:
            run.rng.shuffle(children)  # equal scores are broken at random, seeded
        if not children and self.solver and leaf.status != Status.FAILED:
            leaf.proven = 0.0  # a dead end: no way forward from here

    async def _evaluate_children(self, run: SearchRun, path: list[Node], children: list[Node]) -> None:
        values = await asyncio.gather(*(self._leaf_value(run, c) for c in children))
        for child, value in zip(children, values, strict=True):
            self._backup([*path, child], value)

    async def _leaf_value(self, run: SearchRun, leaf: Node) -> float:
        """The value to back up from `leaf`, from its mover's side."""
        first_visit = leaf.visits == 0
        if leaf.status == Status.TERMINAL:
            value = run.terminal_value(leaf)
            if first_visit:
                await run.evaluate(leaf)  # records it and notices a solution
                if self.solver and value in (0.0, 1.0):
                    leaf.proven = value
                if value < 1.0:
                    await self._reflect(run, leaf)
            return value
        if leaf.status == Status.FAILED:
            if self.solver:
                leaf.proven = 0.0
            if first_visit:
                await self._reflect(run, leaf)
            return 0.0
        if leaf.depth >= self.max_depth and leaf.value is not None:
            return leaf.value  # a depth-capped leaf is not scored twice
        return await run.evaluate(leaf)

    @staticmethod
    async def _reflect(run: SearchRun, leaf: Node) -> None:
        if run.reflector is not None and not run.multi and leaf.step is not None:
            await run.reflect(leaf)

    def _select(self, run: SearchRun, node: Node) -> list[Node] | None:
        """The path to the next leaf (None when the step budget cannot pay for stepping into it)."""
        path = [node]
        score = self.score
        while node.children and node.status != Status.FAILED:
            node = select_child(node, score)
            path.append(node)
            if node.status == Status.NEW and not run.materialize(node):
                return None
            if node.pending:
                break
        return path

    def _backup(self, path: list[Node], value: float) -> None:
        backup(path, value)
        if self.solver:
            propagate_proofs(path)

    # -- results -------------------------------------------------------------------------------------
    def best(self, run: SearchRun) -> Node:
        if run.solution is not None:
            return run.solution
        if run.multi:
            node = run.tree.root
            while node.children:
                node = best_child(node)
            return node
        return run.tree.best_leaf()


# -- the pieces of one simulation, as plain functions of nodes ------------------------------------
def select_child(node: Node, score: SelectionFn) -> Node:
    """The child to descend into: a proven win for the player choosing here at once, never a proven
    loss, else the highest `score` (the first of equals); if every child is a proven loss, the
    most visited one stands in. A child the policy gave no prior counts as uniform."""
    children = node.children
    visits = node.visits
    uniform = 1.0 / len(children)
    best: Node | None = None
    best_score = -_INF
    for child in children:
        proven = child.proven
        if proven is not None:
            if proven == 1.0:
                return child
            if proven == 0.0:
                continue
        prior = child.prior
        value = score(visits, child, prior if prior is not None else uniform)
        if value > best_score:
            if value == _INF:
                return child  # nothing beats it, and the first of equals is taken
            best, best_score = child, value
    return best if best is not None else max(children, key=_visits)


def backup(path: list[Node], value: float) -> None:
    """Count one visit along `path` (root first) and add the value of its last node, which is
    from that node's mover's side: nodes of the other player get 1 - value."""
    mover = path[-1].mover
    opposite = 1.0 - value
    for node in path:
        node.visits += 1
        node.value_sum += value if node.mover == mover else opposite


def propagate_proofs(path: list[Node]) -> None:
    """MCTS-solver: settle the nodes above the last one of `path`, from the bottom up, as long as
    their children prove them."""
    for node in reversed(path[:-1]):
        if node.proven is not None or not prove(node):
            break


def prove(node: Node) -> bool:
    """Settle `node` from its children if they prove it; True when it became proven.

    A child proven won (1.0, for its mover, who chooses at `node`) proves `node`: won if the same
    player moved into `node` (a single-agent task), lost if the opponent did. Children all proven
    lost prove the opposite. Anything unproven among them leaves `node` open."""
    children = node.children
    if not children:
        return False
    all_lost = True
    for child in children:
        proven = child.proven
        if proven == 1.0:
            node.proven = 1.0 if node.mover == child.mover else 0.0
            return True
        if proven != 0.0:
            all_lost = False
    if all_lost:
        node.proven = 0.0 if node.mover == children[0].mover else 1.0
        return True
    return False


def _visits(node: Node) -> int:
    return node.visits


def _function_name(fn: Any) -> str:
    """A selection function's name for the trace's config."""
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def best_child(node: Node) -> Node:
    """The move to play: a proven win first, never a proven loss if avoidable, else most visits."""
    children = node.children
    if not children:
        raise ValueError("this node has no children: run the search before choosing a move")
    for child in children:
        if child.proven == 1.0:
            return child
    candidates = [c for c in children if c.proven != 0.0] or list(children)
    return max(candidates, key=lambda c: (c.visits, c.mean_value))
