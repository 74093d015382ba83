"""The state of one search and the operations every controller shares.

`SearchRun` expands nodes (policy -> environment steps -> children), evaluates them, charges the
budget, writes the trace and answers from the resume cache. Faults are contained here: a policy,
environment or evaluator that raises marks that node failed (the error is kept) and the search
goes on, except for a `SearchStop` (a misconfigured model endpoint), which ends the search. A
request the LLM budget refuses (`BudgetExhausted`) is no fault: the expansion does not
happen, a value falls back to the environment's reward, a reflection is skipped. On resume, the
model calls recorded for each replayed step are written again under the new node ids, so the
trace of the resumed run shows every reply. Controllers (best-first, DFSDT, MCTS, beam) only
decide *which* node to work on next.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from treeagent.agents.base import (
    BudgetExhausted,
    Evaluator,
    NodeView,
    Policy,
    Proposal,
    Reflector,
    SearchStop,
    TrajectoryStep,
)
from treeagent.environments.base import Environment, Step, Task
from treeagent.search import scoring
from treeagent.search.budget import Meter, NodeCharge
from treeagent.search.events import Events, Expanded, NodeRecorded, snapshot
from treeagent.search.faults import error_text
from treeagent.search.node import KEY_SEPARATOR, Node, Status, Tree
from treeagent.search.state_check import MutationCheck
from treeagent.search.trace import ResumeCache, TraceWriter, encode_proposal, node_record

_SEED_MIX = 0x9E3779B1


class SearchRun:
    """One search of one task; created by `Controller.run`, discarded after it."""

    def __init__(
        self,
        *,
        env: Environment[Any, Any],
        task: Task,
        root_step: Step[Any],
        policy: Policy,
        evaluator: Evaluator | None,
        reflector: Reflector | None,
        meter: Meter,
        seed: int,
        trace: TraceWriter | None,
        cache: ResumeCache | None,
        step_timeout: float | None,
        strict: bool = False,
        events: Events | None = None,
    ) -> None:
        self.env = env
        #: raise the first node error instead of failing that node (a debugging mode)
        self.strict = strict
        self.task = task
        self.policy = policy
        self.evaluator = evaluator
        self.reflector = reflector
        self.meter = meter
        self.seed = seed
        self.rng = random.Random(seed)
        self.trace = trace
        #: where the run's events go (a progress display, a runner), if anyone listens
        self.events = events
        #: nodes are recorded (to the trace, to a listener): the game hot path skips it otherwise
        self.recording = trace is not None or events is not None
        self.cache = cache
        self.step_timeout = step_timeout
        self.lessons: list[str] = []
        self.cheap = env.capabilities.cheap_clone
        self.multi = env.capabilities.players > 1
        to_play = root_step.to_play
        root_mover = (to_play - 1) % env.capabilities.players if (self.multi and to_play is not None) else 0
        self.tree = Tree(root_step, root_mover)
        #: the environment lists its legal actions (a game): policies can enumerate them.
        self.finite_actions = root_step.terminal or env.legal_actions(root_step.state) is not None
        self.keyed = trace is not None or cache is not None
        self._expansions_at: dict[int, int] = {}
        #: the policy's notes on the proposal behind each child, by node id (only where it left
        #: any: a token-level rollout's tokens and priors, say)
        self.proposal_meta: dict[int, dict[str, Any]] = {}
        #: the ids of the nodes made by expansions that asked the model nothing (`calls=False`)
        self.call_free: set[int] = set()
        self.solution: Node | None = None
        #: the first steps of the run are checked for changing the state they were given
        self.mutation = MutationCheck(env)
        if root_step.terminal:
            self.tree.root.status = Status.TERMINAL
        self.record_node(self.tree.root)

    # -- views -----------------------------------------------------------------------------------
    def view(self, node: Node, tried: Sequence[Any] = (), slot: str = "") -> NodeView:
        """What the agents see of `node`; `slot` names the step their calls serve in the trace."""
        assert node.step is not None
        ordinal = self._expansions_at.get(node.id, 0)
        return NodeView(
            task=self.task,
            env=self.env,
            step=node.step,
            depth=node.depth,
            trajectory_source=lambda: self.trajectory(node),
            mover=node.mover,
            tried=tried,
            lessons=tuple(self.lessons),
            usage=self.meter if self.trace is None else NodeCharge(self.meter, node.id, slot),
            seed=(self.seed * _SEED_MIX + node.id * 1_000_003 + ordinal) & 0x7FFFFFFF,
            reflect_source=None if self.reflector is None else lambda: self.reflect(node),
        )

    def trajectory(self, node: Node) -> list[TrajectoryStep]:
        steps = []
        for n in node.path()[1:]:
            observation = n.step.observation if n.step is not None else (n.error or "")
            reward = n.step.reward if n.step is not None else 0.0
            steps.append(TrajectoryStep(n.action, self.text_of(n), observation, reward))
        return steps

    # -- expansion -------------------------------------------------------------------------------
    async def expand(
        self,
        node: Node,
        k: int | None,
        tried: Sequence[Any] = (),
        lazy: bool = False,
        propose: Callable[[NodeView, int], Awaitable[list[Proposal]]] | None = None,
        calls: bool = True,
    ) -> list[Node] | None:
        """Ask the policy for up to k actions at `node` (None: as many as the node has legal
        actions) and step each into a child (`propose` replaces `policy.propose` for this
        expansion: a token-level rollout, say).

        Returns the new children (possibly failed ones), or None when the budget allows no further
        expansion. A node whose policy call raises becomes failed and gets no children. With
        `lazy` (cheap environments only), children are created unstepped (`Status.NEW`) and
        stepped by `materialize` when first selected, as OpenSpiel's MCTS does. `calls=False`:
        `propose` asks the model nothing, so the expansion may run after the calls are spent; its
        children are listed in `call_free` (and the result's), and its record says `"calls": false`.
        """
        if k is None:
            k = self._legal_count(node)
        if not self.meter.try_expand(calls=calls):
            return None
        ordinal = self._expansions_at.get(node.id, 0)
        self._expansions_at[node.id] = ordinal + 1
        cache_key = f"{node.key}#{ordinal}" if self.keyed else ""
        proposals = self.cache.decoded_proposals(cache_key, self.env) if self.cache is not None else None
        replayed = proposals is not None
        if proposals is None:
            try:
                proposals = await (propose or self.policy.propose)(self.view(node, tried, f"expand:{cache_key}"), k)
            except BudgetExhausted:  # no call left: this expansion does not happen
                self.meter.stats.expansions -= 1
                self._expansions_at[node.id] = ordinal
                return None
            except SearchStop:
                raise
            except Exception as exc:  # a fault in one branch fails that node only
                self.contain(exc)
                error = f"policy failed: {error_text(exc)}"
                # counted like any expansion (stats, the viewer's chart); resume asks the policy again
                self.record({"type": "expand", "node": node.id, "key": cache_key, "proposals": [], "error": error})
                self.fail(node, error)
                self._expanded(node, [], False)
                return []
        else:
            self.meter.stats.replayed_expansions += 1
            scoring.restore_lesson(self, node)
            self.replay_calls(f"expand:{cache_key}", node)
        if self.trace is not None:  # a replayed expansion too: the resumed trace shows it whole
            proposed = [encode_proposal(self.env, p) for p in proposals]
            record = {"type": "expand", "node": node.id, "key": cache_key, "proposals": proposed}
            if not calls:
                record["calls"] = False
            self.trace.write({**record, "resumed": True} if replayed else record)
        if node.status == Status.OPEN:
            node.status = Status.EXPANDED
        proposals = self._dedupe(node, proposals, k)
        if lazy and self.cheap:
            made = [self._lazy_child(node, p) for p in proposals]
        else:
            if self.cheap:
                stepped = [self._child_now(node, p) for p in proposals]
            else:
                stepped = list(await asyncio.gather(*(self._child(node, p) for p in proposals)))
            made = [c for c in stepped if c is not None]
        if not calls:
            self.call_free.update(c.id for c in made)
        self._expanded(node, made, replayed)
        return made

    def _expanded(self, node: Node, children: list[Node], replayed: bool) -> None:
        if self.events is not None:
            self.events.emit(Expanded(node, len(children), replayed, snapshot(self.meter.stats)))

    async def expand_and_evaluate(self, node: Node, k: int) -> list[Node]:
        """Expand `node` and score its children concurrently (best-first and beam work this way)."""
        children = await self.expand(node, k)
        if not children:
            return []
        await asyncio.gather(*(self.evaluate(c) for c in children if not c.failed))
        return children

    def _legal_count(self, node: Node) -> int:
        assert node.step is not None
        legal = self.env.legal_actions(node.step.state)
        if legal is None:
            raise ValueError(
                f"{type(self.env).__name__} lists no legal actions: an expansion of every legal action "
                "(k=None) needs an environment that does; give a number of children"
            )
        return len(legal)

    def _dedupe(self, node: Node, proposals: list[Proposal], k: int) -> list[Proposal]:
        if len(proposals) <= 1:
            return proposals
        seen = {self.env.action_key(c.action) for c in node.children if c.error is None}
        unique: list[Proposal] = []
        for p in proposals:
            if p.error is not None or p.give_up:
                unique.append(p)
                continue
            key = self.env.action_key(p.action)
            if key not in seen:
                seen.add(key)
                unique.append(p)
        return unique[: max(k, 1)]

    def _mover(self, parent: Node) -> int:
        assert parent.step is not None
        to_play = parent.step.to_play
        return to_play if (self.multi and to_play is not None) else 0

    def _new_child(self, parent: Node, proposal: Proposal, step: Step[Any] | None, text: str) -> Node:
        child = self.tree.add(parent, proposal.action, step, self._mover(parent), proposal.prior, text)
        if proposal.meta:
            self.proposal_meta[child.id] = proposal.meta
        if self.keyed:
            child.key = f"{parent.key}{KEY_SEPARATOR}{self.env.action_key(proposal.action)}"
        return child

    def _lazy_child(self, parent: Node, proposal: Proposal) -> Node:
        if proposal.error is not None or proposal.give_up:
            return self._failed_child(parent, proposal)
        child = self._new_child(parent, proposal, None, "")
        child.status = Status.NEW
        return child

    def materialize(self, node: Node) -> bool:
        """Run the environment step of a lazily created node; False when the step budget is spent."""
        if not self.meter.try_env_step():
            return False
        parent = node.parent
        assert parent is not None and parent.step is not None
        state, before = parent.step.state, self.mutation.before(parent.step.state)
        try:
            step = self.env.step_now(state, node.action)
        except Exception as exc:
            self.contain(exc)
            node.status = Status.OPEN
            self.fail(node, error_text(exc))
            return True
        finally:
            self.mutation.after(state, before, "step_now")
        node.step = step
        node.status = Status.TERMINAL if step.terminal else Status.OPEN
        if self.recording:
            self.record_node(node)
        return True

    def _child_now(self, parent: Node, proposal: Proposal) -> Node | None:
        """Synchronous child creation for cheap environments (the game hot path)."""
        if proposal.error is not None or proposal.give_up:
            return self._failed_child(parent, proposal)
        if not self.meter.try_env_step():
            return None
        assert parent.step is not None
        state, before = parent.step.state, self.mutation.before(parent.step.state)
        try:
            step = self.env.step_now(state, proposal.action)
        except Exception as exc:
            self.contain(exc)
            child = self._new_child(parent, proposal, None, "")
            self.fail(child, error_text(exc))
            return child
        finally:
            self.mutation.after(state, before, "step_now")
        child = self._new_child(parent, proposal, step, "")
        if step.terminal:
            child.status = Status.TERMINAL
        if self.recording:
            self.record_node(child)
        return child

    async def _child(self, parent: Node, proposal: Proposal) -> Node | None:
        if proposal.error is not None or proposal.give_up:
            return self._failed_child(parent, proposal)
        if not self.meter.try_env_step():
            return None
        assert parent.step is not None
        text = self.action_text(parent, proposal.action)
        state, before = parent.step.state, self.mutation.before(parent.step.state)
        try:
            coro = self.env.step(state, proposal.action)
            step = await (asyncio.wait_for(coro, self.step_timeout) if self.step_timeout else coro)
        except TimeoutError as exc:
            self.contain(exc)
            child = self._new_child(parent, proposal, None, text)
            self.fail(child, f"environment step timed out after {self.step_timeout} s")
            return child
        except Exception as exc:
            self.contain(exc)
            child = self._new_child(parent, proposal, None, text)
            self.fail(child, f"environment step failed: {error_text(exc)}")
            return child
        finally:
            self.mutation.after(state, before, "step")
        child = self._new_child(parent, proposal, step, text)
        if step.terminal:
            child.status = Status.TERMINAL
        self.record_node(child)
        return child

    def _failed_child(self, parent: Node, proposal: Proposal) -> Node:
        raw = " ".join(proposal.text.split())
        text = "give up" if proposal.give_up else f"(invalid) {raw[:60]}" if raw else "(invalid reply)"
        child = self._new_child(parent, proposal, None, text)
        child.give_up = proposal.give_up
        self.fail(child, proposal.error or "gave up on this branch")
        return child

    def contain(self, exc: BaseException) -> None:
        """Called where a node error is caught: in strict mode it is raised instead."""
        if self.strict:
            raise exc

    def fail(self, node: Node, error: str) -> None:
        node.status = Status.FAILED
        node.error = error
        node.value = 0.0
        self.meter.stats.failed_nodes += 1
        self.record_node(node)

    # -- evaluation and lessons (search/scoring.py) ------------------------------------------------
    def terminal_value(self, node: Node) -> float:
        """The exact value of a terminal node from its mover's side."""
        return scoring.terminal_value(node)

    async def evaluate(self, node: Node) -> float:
        """The node's value in [0, 1] (also stored on `node.value`); failures are worth 0."""
        return await scoring.evaluate(self, node)

    async def reflect(self, node: Node) -> str:
        """Turn the failed trajectory ending at `node` into a lesson for later prompts; the lesson
        ('' when there is none: no reflector, no call left, a reflector fault)."""
        return await scoring.reflect(self, node)

    def replay_calls(self, slot: str, node: Node) -> None:
        """The model calls an earlier run made for a step this run takes from the trace, written
        again under this run's node id (not charged again: the meter began with what they cost)."""
        if self.cache is not None:
            self.cache.write_calls(self.trace, slot, node.id)

    def action_text(self, parent: Node, action: Any) -> str:
        try:
            return self.env.action_text(action, parent.step.state if parent.step is not None else None)
        except Exception:
            return repr(action)

    def text_of(self, node: Node) -> str:
        """The node's action as text, computed on first use (the game hot path never needs it)."""
        if not node.text and node.parent is not None and node.action is not None:
            node.text = self.action_text(node.parent, node.action)
        return node.text

    # -- trace -------------------------------------------------------------------------------------
    def record(self, record: dict[str, Any]) -> None:
        if self.trace is not None:
            self.trace.write(record)

    def record_node(self, node: Node) -> None:
        if self.trace is not None:
            self.trace.write(node_record(node, self.env, self.text_of(node)))
        if self.events is not None:
            self.events.emit(NodeRecorded(node))
