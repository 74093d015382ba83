"""The web agent's value function, as in "Tree Search for Language Model Agents" (Koh et al.).

The model reads the goal, the actions so far and the current page, and says whether the
trajectory has succeeded (1), is on track (0.5) or has failed (0); the value is the mean over n
sampled verdicts from one request. Where the page itself reports success (MiniWoB, a success
check), an unfinished node is capped below 1, so only a real success ends the search. A terminal
node with a page-reported reward is worth that reward, which is ground truth; one that ended
with `stop(answer)` and no check is judged by the model.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel

from treeagent.agents.base import NodeView, TrajectoryStep
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.parsing import parse_structured
from treeagent.agents.prompts import PromptTemplate, template_for
from treeagent.agents.web.prompts import WEB_PROMPT
from treeagent.environments.base import Environment, Step, Task

VERDICT_VALUES = {"success": 1.0, "on track": 0.5, "failure": 0.0}
_WORDS = re.compile(r"\b(success|on track|failure|failed|fail)\b", re.IGNORECASE)


class Verdict(BaseModel):
    """The judge's reply."""

    status: Literal["success", "on track", "failure"]


def verdict_value(text: str) -> float | None:
    """The value of one reply: the JSON verdict, else the first verdict word in the text."""
    parsed, _ = parse_structured(text, Verdict)
    if parsed is not None:
        return VERDICT_VALUES[parsed.status]
    match = _WORDS.search(text)
    if match is None:
        return None
    word = match.group(1).lower()
    return VERDICT_VALUES.get(word, 0.0)


class TrajectoryJudge:
    """Implements `Evaluator`: mean of `samples` verdicts (1 success, 0.5 on track, 0 failure)."""

    def __init__(
        self,
        llm: LLMClient,
        *,
        samples: int = 3,
        sampling: Sampling | None = None,
        template: PromptTemplate | None = None,
        default: float = 0.0,
        open_cap: float = 0.9,
    ) -> None:
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        self.llm = llm
        self.samples = samples
        self.sampling = sampling or Sampling(temperature=0.7, max_tokens=24)
        self.template = template or WEB_PROMPT
        self.default = default
        #: the highest value of an unfinished node when the environment reports success itself
        self.open_cap = open_cap

    async def value(self, view: NodeView) -> float:
        step = view.step
        if step.terminal and step.returns is None and not step.info.get("needs_judge"):
            return min(max(step.reward, 0.0), 1.0)
        template = template_for(view, self.template)
        completion = await self.llm.complete(
            template.evaluate_messages(view),
            n=self.samples,
            sampling=self.sampling,
            schema=Verdict,
            sink=view.usage,
            tag="evaluate",
        )
        values = [v for v in (verdict_value(c.text) for c in completion.choices) if v is not None]
        value = sum(values) / len(values) if values else self.default
        if not step.terminal and _has_ground_truth(view):
            # the page itself will say when the task is done: the model's "success" on an
            # unfinished episode is a guess, and must not end the search (best-first stops at 1)
            value = min(value, self.open_cap)
        return value


def stop_judge(judge: TrajectoryJudge, env: Environment[Any, Any]) -> Callable[[Task, Any], Awaitable[float]]:
    """`WebEnv(judge=...)`: the model's verdict on an episode ended by `stop(answer)` with no check.

    These calls are made inside an environment step, so they are not charged to a search budget."""

    async def score(task: Task, state: Any) -> float:
        path = getattr(state, "path", ())
        trajectory = [TrajectoryStep(a, env.action_text(a), "") for a in path]
        step = Step(state, getattr(state, "observation", ""), terminal=True, info={"needs_judge": True})
        view = NodeView(task=task, env=env, step=step, depth=len(path), trajectory_source=trajectory)
        return await judge.value(view)

    return score


def _has_ground_truth(view: NodeView) -> bool:
    probe = getattr(view.env, "has_ground_truth", None)
    return bool(probe(view.task)) if callable(probe) else False
