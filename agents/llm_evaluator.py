"""LLM self-evaluation: the model scores a trajectory; the value is the mean of n votes.

The votes come from one n-sampled request with a bounded score schema (an unbounded number lets
a small model loop until max_tokens). A terminal single-agent node is scored by the
environment's own reward, which is ground truth, unless `judge_terminal` is set.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from treeagent.agents.base import NodeView
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.parsing import parse_score
from treeagent.agents.prompts import PromptTemplate, template_for

SCORE_MAX = 10


class Score(BaseModel):
    """The judge's reply: an integer from 0 to 10."""

    score: int = Field(ge=0, le=SCORE_MAX)


class LLMSelfEvaluator:
    """Implements `Evaluator`: mean of `votes` sampled scores, scaled to [0, 1]."""

    def __init__(
        self,
        llm: LLMClient,
        *,
        template: PromptTemplate | None = None,
        votes: int = 3,
        sampling: Sampling | None = None,
        default: float = 0.5,
        judge_terminal: bool = False,
    ) -> None:
        if votes < 1:
            raise ValueError(f"votes must be at least 1, got {votes}")
        if not 0.0 <= default <= 1.0:
            raise ValueError(f"default must be in [0, 1], got {default}")
        self.llm = llm
        self.template = template
        self.votes = votes
        self.sampling = sampling or Sampling(temperature=0.7, max_tokens=16)
        self.default = default
        self.judge_terminal = judge_terminal

    async def value(self, view: NodeView) -> float:
        step = view.step
        if step.terminal and step.returns is None and not self.judge_terminal:
            return min(max(step.reward, 0.0), 1.0)
        template = template_for(view, self.template)
        completion = await self.llm.complete(
            template.evaluate_messages(view),
            n=self.votes,
            sampling=self.sampling,
            schema=Score,
            sink=view.usage,
            tag="evaluate",
        )
        scores = [parse_score(c.text, 0, SCORE_MAX) for c in completion.choices]
        valid = [s for s in scores if s is not None]
        if not valid:
            return self.default
        return sum(valid) / len(valid) / SCORE_MAX
