"""Training data from a search tree: SFT conversations and step-level preference pairs.

As in the step-level preference work on inference trees (TP-LLaMA on DFSDT trees, MCTS-DPO,
ReST-MCTS*): successful trajectories become supervised examples, and siblings — alternative next
steps from the same state — whose values differ become (chosen, rejected) pairs, the failed
explorations a plain SFT set throws away.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from treeagent.export.schema import ChatMessage, PreferencePair, SFTRecord, Source
from treeagent.search.trace_tree import TraceNode, TraceTree

StepText = Literal["reply", "action"]
Pairing = Literal["best", "all"]


class Conversations:
    """Turns paths of a trace tree into chat messages."""

    def __init__(self, tree: TraceTree, step_text: StepText = "reply") -> None:
        if step_text not in ("reply", "action"):
            raise ValueError(f"step text must be 'reply' or 'action', got {step_text!r}")
        self.tree = tree
        self.step_text = step_text
        self._replies: dict[int, str] = {}
        if step_text == "reply":
            for node in tree.nodes.values():
                self._match_replies(node)

    def _match_replies(self, parent: TraceNode) -> None:
        """Pair each child with the proposal it came from, to use the model's own words."""
        unused = list(parent.proposals)
        for child_id in parent.children:
            child = self.tree.nodes[child_id]
            for k, proposal in enumerate(unused):
                if _same_step(child, proposal):
                    text = proposal.get("text")
                    if isinstance(text, str) and text.strip():
                        self._replies[child_id] = text
                    del unused[k]
                    break

    def step(self, node: TraceNode) -> str:
        """The assistant's turn that takes the step into `node`."""
        return self._replies.get(node.id) or node.text or json.dumps(node.action, default=str)

    def context(self, path: list[TraceNode]) -> list[ChatMessage]:
        """The conversation that reaches the last node of `path` (ending with its observation)."""
        root = path[0]
        prompt = str(self.tree.run.task.get("prompt") or "").strip()
        first = "\n\n".join(part for part in (prompt, (root.observation or "").strip()) if part)
        messages = [ChatMessage(role="user", content=first or "(no task text)")]
        for node in path[1:]:
            messages.append(ChatMessage(role="assistant", content=self.step(node)))
            messages.append(ChatMessage(role="user", content=(node.observation or node.error or "").strip()))
        return messages

    def source(self) -> Source:
        run = self.tree.run
        return Source(
            trace=str(self.tree.path),
            task_id=str(run.task.get("id", "")),
            env=run.env,
            controller=run.controller,
            seed=run.seed,
        )


def _same_step(child: TraceNode, proposal: dict[str, Any]) -> bool:
    if child.give_up or proposal.get("give_up"):
        return bool(child.give_up) and bool(proposal.get("give_up"))
    if proposal.get("error") is not None:
        return child.status == "failed" and child.error == proposal.get("error")
    return bool(proposal.get("action") == child.action)


def sft_records(tree: TraceTree, step_text: StepText = "reply") -> Iterator[SFTRecord]:
    """One record per solved node: the trajectory from the root to it."""
    talk = Conversations(tree, step_text)
    source = talk.source()
    for node in tree.nodes.values():
        if not node.solved or node.parent is None:
            continue
        path = tree.path_to(node.id)
        messages = talk.context(path[:-1])
        messages.append(ChatMessage(role="assistant", content=talk.step(node)))
        yield SFTRecord(
            id=f"{source.task_id}/{node.id}",
            messages=messages,
            reward=node.reward or 0.0,
            node_ids=[n.id for n in path],
            source=source,
        )


def preference_pairs(
    tree: TraceTree,
    *,
    pairing: Pairing = "best",
    min_margin: float = 0.0,
    min_visits: int = 0,
    step_text: StepText = "reply",
) -> Iterator[PreferencePair]:
    """Step-level pairs from siblings whose values differ by more than `min_margin`.

    pairing "best": the best-valued sibling against each lower-valued one (one chosen per state);
    "all": every pair of siblings with different values. Siblings whose value is unknown, or
    (for MCTS) visited fewer than `min_visits` times, are left out; failed steps count as 0.
    """
    if pairing not in ("best", "all"):
        raise ValueError(f"pairing must be 'best' or 'all', got {pairing!r}")
    if min_margin < 0:
        raise ValueError(f"min_margin must be >= 0, got {min_margin}")
    talk = Conversations(tree, step_text)
    source = talk.source()
    for parent in tree.nodes.values():
        if len(parent.children) < 2:
            continue
        scored: list[tuple[float, TraceNode]] = []
        for child_id in parent.children:
            child = tree.nodes[child_id]
            score = child.score()
            if score is None or (child.status != "failed" and child.visits < min_visits):
                continue
            scored.append((round(score, 6), child))  # as written: float noise is not a preference
        if len(scored) < 2:
            continue
        scored.sort(key=lambda sc: (-sc[0], -sc[1].visits, sc[1].id))
        prompt: list[ChatMessage] | None = None
        tops = scored[:1] if pairing == "best" else scored
        for i, (high, chosen) in enumerate(tops):
            for low, rejected in scored[i + 1 :]:
                if high - low <= min_margin:
                    continue
                chosen_text, rejected_text = talk.step(chosen), talk.step(rejected)
                if chosen_text == rejected_text:
                    continue  # the same words with different values teach nothing
                if prompt is None:
                    prompt = talk.context(tree.path_to(parent.id))
                yield PreferencePair(
                    id=f"{source.task_id}/{parent.id}/{chosen.id}-{rejected.id}",
                    prompt=prompt,
                    chosen=[ChatMessage(role="assistant", content=chosen_text)],
                    rejected=[ChatMessage(role="assistant", content=rejected_text)],
                    chosen_value=high,
                    rejected_value=low,
                    margin=round(high - low, 6),
                    depth=parent.depth,
                    parent_id=parent.id,
                    chosen_id=chosen.id,
                    rejected_id=rejected.id,
                    value_source=_value_source(chosen, rejected),
                    source=source,
                )


def _value_source(a: TraceNode, b: TraceNode) -> Literal["visits", "value", "mixed"]:
    kinds = {"visits" if n.visits and n.status != "failed" else "value" for n in (a, b)}
    if len(kinds) == 2:
        return "mixed"
    return "visits" if "visits" in kinds else "value"
