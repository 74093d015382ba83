"""Prompts of the web agent: the goal, the actions taken so far, the page now, the actions to pick.

Past pages are not repeated (only the actions that led here, each with the element it named), so
a prompt stays well inside a small model's context window however deep the search goes; the
current page is capped. The shared part comes first for the engine's prefix cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from treeagent.agents.base import NodeView
from treeagent.agents.prompts import PromptTemplate

ACTION_HELP = (
    "Actions (element ids are the numbers in brackets on the page):\n"
    'click(ID)  type(ID, "text")  select(ID, "option")  press("Enter")  scroll("down")\n'
    'goto("https://...")  back()  stop("answer")  (stop ends the task, with an answer if one is asked)'
)


@dataclass(frozen=True, slots=True)
class WebPrompt(PromptTemplate):
    """The web agent's prompts; `page_chars` caps the current page's text."""

    system: str = (
        "You are a web agent. You see a web page as a list of elements, each with an id in brackets, "
        "and you act on it one action at a time to reach the user's goal."
    )
    propose: str = "Write the single best next action, exactly in the form above, and nothing else."
    propose_json: str = 'Reply with the next action as JSON {"action": "..."} and nothing else.'
    tried_header: str = "Actions already tried from this page (choose a different one):"
    legal_header: str = "Possible actions:"
    evaluate: str = (
        "Judge the agent's progress on the goal from the actions and the current page. "
        'Reply as JSON {"status": S} where S is "success" if the goal is fully achieved, '
        '"on track" if the actions so far are right but the goal is not reached yet, '
        'or "failure" if a wrong action was taken or the goal cannot be reached from here.'
    )
    page_chars: int = 2500
    max_steps: int = 12
    max_legal_listed: int = 40

    def context(self, view: NodeView) -> str:
        env = view.env
        parts = [f"Goal: {env.describe(view.task).strip()}", ACTION_HELP]
        steps = list(view.trajectory)[-self.max_steps :]
        if steps:
            lines = ["Actions taken so far:"]
            lines.extend(f"{i}. {step.action_text}" for i, step in enumerate(steps, 1))
            parts.append("\n".join(lines))
        page = env.render(view.state).strip()
        if len(page) > self.page_chars:
            page = page[: self.page_chars] + "\n[... page cut here]"
        parts.append(f"Current page:\n{page}")
        legal = env.legal_actions(view.state)
        if legal and len(legal) <= self.max_legal_listed:
            listed = "\n".join(env.action_text(a, view.state) for a in legal)
            parts.append(f"{self.legal_header}\n{listed}")
        if view.lessons:
            parts.append("\n".join([self.lessons_header, *(f"- {lesson}" for lesson in view.lessons)]))
        return "\n\n".join(parts)


WEB_PROMPT = WebPrompt()
