"""Prompt templates for proposing, evaluating and reflecting, ordered for the prefix cache.

Every prompt is one system message and one user message whose text runs from the most shared to
the least: the task, then the trajectory from the root (shared by every node below it), then the
current state, the lessons, and only at the end the part that varies between calls at the same
node (siblings already tried, the instruction). The engine then reuses the KV cache of everything
before the varying tail.

An environment specialises the prompts by giving itself a `prompt_template` attribute (a
`PromptTemplate`, usually `PromptTemplate(...)` with a few fields changed); a policy given an
explicit template uses that instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from treeagent.agents.base import NodeView

Message = dict[str, Any]

GIVE_UP = "give_up_and_restart"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """The texts of the three prompts; every field can be overridden (see `with_`)."""

    system: str = (
        "You are an agent solving a task step by step. At each step you choose one action; "
        "the environment applies it and shows you the result."
    )
    propose: str = "Give the next action only, on one line, with no explanation."
    propose_json: str = "Reply with the next action as JSON matching the schema, and nothing else."
    tried_header: str = "Actions already tried from this state (propose a different one):"
    give_up: str = f"If this state cannot lead to a solution, reply exactly: {GIVE_UP}"
    legal_header: str = "Legal actions:"
    lessons_header: str = "Lessons from earlier failed attempts:"
    evaluate: str = (
        "Now judge the steps so far, strictly: how likely is it that they lead to a correct solution "
        'of the task? Reply as JSON {"score": N} with N an integer from 0 (impossible) to 10 (certainly solved).'
    )
    reflect: str = (
        "This attempt failed. In one or two sentences, state the mistake and what to do "
        "differently next time. Do not repeat the task."
    )
    #: at most this many trailing trajectory steps are shown (older ones are summarised as '...').
    max_steps: int = 30
    #: observations are cut to this many characters (the prompt must fit the context window).
    observation_chars: int = 1200
    #: legal actions are listed when there are at most this many.
    max_legal_listed: int = 40

    def with_(self, **changes: Any) -> PromptTemplate:
        """A copy with some fields changed."""
        return replace(self, **changes)

    # -- the shared part -------------------------------------------------------------------------
    def context(self, view: NodeView) -> str:
        """Task, trajectory, current state, legal actions, lessons: everything shared at this node."""
        env = view.env
        parts = [f"Task:\n{env.describe(view.task).strip()}"]
        steps = list(view.trajectory)
        if steps:
            shown = steps[-self.max_steps :]
            lines = ["Steps so far:"]
            if len(shown) < len(steps):
                lines.append(f"... ({len(steps) - len(shown)} earlier steps)")
            offset = len(steps) - len(shown)
            for i, step in enumerate(shown, offset + 1):
                lines.append(f"{i}. Action: {step.action_text}")
                if step.observation:
                    lines.append(f"   Result: {_cut(step.observation, self.observation_chars)}")
            parts.append("\n".join(lines))
        parts.append(f"Current state:\n{_cut(env.render(view.state), self.observation_chars * 2)}")
        legal = env.legal_actions(view.state)
        if legal is not None and 0 < len(legal) <= self.max_legal_listed:
            listed = ", ".join(_action_text(env, a, view.state) for a in legal)
            parts.append(f"{self.legal_header} {listed}")
        if view.lessons:
            parts.append("\n".join([self.lessons_header, *(f"- {lesson}" for lesson in view.lessons)]))
        return "\n\n".join(parts)

    # -- the three prompts -----------------------------------------------------------------------
    def propose_messages(
        self, view: NodeView, *, show_tried: bool = True, allow_give_up: bool = False, structured: bool = False
    ) -> list[Message]:
        tail: list[str] = []
        if show_tried and view.tried:
            tried = "\n".join(f"- {_action_text(view.env, a, view.state)}" for a in view.tried)
            tail.append(f"{self.tried_header}\n{tried}")
        if allow_give_up:
            tail.append(self.give_up)
        tail.append(self.propose_json if structured else self.propose)
        return self._messages(view, tail)

    def evaluate_messages(self, view: NodeView) -> list[Message]:
        tail = [self.evaluate]
        if view.mover is not None and view.env.capabilities.players > 1:
            tail.insert(0, f"Judge from the side of player {view.mover}, who made the last move.")
        return self._messages(view, tail)

    def reflect_messages(self, view: NodeView) -> list[Message]:
        tail = []
        if view.step.observation:
            tail.append(f"Final result: {_cut(view.step.observation, self.observation_chars)}")
        tail.append(self.reflect)
        return self._messages(view, tail)

    def _messages(self, view: NodeView, tail: Sequence[str]) -> list[Message]:
        # One system message for all three prompts: proposing at, judging and reflecting on the
        # same node then share the whole context in the engine's prefix cache.
        user = self.context(view) + "\n\n" + "\n\n".join(tail)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


DEFAULT_TEMPLATE = PromptTemplate()


def template_for(view: NodeView, override: PromptTemplate | None = None) -> PromptTemplate:
    """The explicit template, else the environment's `prompt_template`, else the default."""
    if override is not None:
        return override
    own = getattr(view.env, "prompt_template", None)
    return own if isinstance(own, PromptTemplate) else DEFAULT_TEMPLATE


def _action_text(env: Any, action: Any, state: Any = None) -> str:
    """The action's name in `state` (games name moves by the position: "x3", "Nf3")."""
    try:
        return str(env.action_text(action, state))
    except Exception:  # an environment that cannot render a foreign action: show it raw
        return str(action)


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
