"""The web agent's pieces put together: the web policy and the trajectory judge under any
controller of the registry (its names, its spelling rules).

- `greedy`: one action per step from the policy at temperature 0, no value calls (the baseline).
- `best_first`: the paper's search: `branching` sampled actions per expansion, each child scored
  by the trajectory judge (mean of `samples` verdicts), the best open node expanded next, stop on
  a success.
- any other (`dfsdt`, `mcts`, `beam`, yours): the same policy and judge, `branching` wide.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from treeagent.agents.heuristics import EnvReward
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.web import WEB_PROMPT, TrajectoryJudge
from treeagent.registry import CONTROLLERS
from treeagent.search import Budget, Controller


class WebSearchConfig(BaseModel):
    """The knobs of one web search."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    controller: str = Field(default="best_first", description="a controller of the registry")
    branching: int = Field(default=3, ge=1, le=16)
    max_depth: int = Field(default=6, ge=1, le=50)
    samples: int = Field(default=3, ge=1, le=16)
    max_expansions: int | None = Field(default=12, ge=1)
    max_llm_calls: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=2, ge=1)
    seed: int = 0
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)

    @field_validator("controller")
    @classmethod
    def _known(cls, name: str) -> str:
        return CONTROLLERS.canonical(name)


def make_controller(
    llm: LLMClient, config: WebSearchConfig, *, trace: str | os.PathLike[str] | None = None, resume: bool = False
) -> Controller:
    """The controller `config.controller` with the web policy and the trajectory judge."""
    budget = Budget(
        max_expansions=config.max_expansions,
        max_llm_calls=config.max_llm_calls,
        max_seconds=config.max_seconds,
    )
    common: dict[str, Any] = {
        "budget": budget,
        "seed": config.seed,
        "max_depth": config.max_depth,
        "trace": trace,
        "resume": resume,
        "concurrency": config.concurrency,
    }
    if config.controller == "greedy":
        policy = LLMPolicy(llm, template=WEB_PROMPT, sampling=Sampling(temperature=0.0, max_tokens=48))
        return CONTROLLERS["greedy"](policy, EnvReward(), **common)
    policy = LLMPolicy(llm, template=WEB_PROMPT, sampling=Sampling(temperature=config.temperature, max_tokens=48))
    judge = TrajectoryJudge(llm, samples=config.samples)
    return CONTROLLERS[config.controller](policy, judge, width=config.branching, **common)
