"""The model's judgement of a position as an evaluator for MCTS (mix it with rollouts via Weighted).

The model is asked which side is winning; the first token's log-probabilities over the two
sides' names give P(side), and the node's value is the mover's share of the two. Without
log-probabilities, `samples` replies are counted instead; a model that names neither side
gives 0.5 (no information). Answers are cached per position.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from treeagent.agents.base import NodeView
from treeagent.agents.games.policy import notation_of, position_key
from treeagent.agents.games.prompts import value_messages
from treeagent.agents.llm.client import LLMClient, Sampling

__all__ = ["GameLLMValue"]


class GameLLMValue:
    """Implements `Evaluator`: P(the node's mover is winning), as the model sees it."""

    def __init__(self, llm: LLMClient, *, samples: int = 1, logprobs: bool = True, cache_size: int = 20_000) -> None:
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        self.llm = llm
        self.samples = samples
        self.logprobs = logprobs
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    async def value(self, view: NodeView) -> float:
        step = view.step
        mover = view.mover if view.mover is not None else 0
        if step.terminal and step.returns is not None:
            return min(1.0, max(0.0, (step.returns[mover] + 1.0) / 2.0))
        first, second = await self.odds(view)
        total = first + second
        if total <= 0.0:
            return 0.5
        return (first if mover == 0 else second) / total

    async def odds(self, view: NodeView) -> tuple[float, float]:
        """(weight for player 0, weight for player 1) as the model answers; (0, 0) if it names neither."""
        notation = notation_of(view.env)
        key = (notation.game, position_key(view.state))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        names = (notation.player_name(0), notation.player_name(1))
        sampling = Sampling(
            temperature=1.0, max_tokens=2, logprobs=self.logprobs, top_logprobs=20 if self.logprobs else None
        )
        completion = await self.llm.complete(
            value_messages(notation, view.state, names),
            n=self.samples,
            sampling=sampling,
            sink=view.usage,
            tag="game-value",
        )
        weights = [0.0, 0.0]
        folded = [n.lower() for n in names]
        for choice in completion.choices:
            if choice.token_logprobs:
                for token, logprob in choice.token_logprobs[0].top.items():
                    word = token.strip().lower()
                    for side, name in enumerate(folded):
                        if word and name.startswith(word) and not folded[1 - side].startswith(word):
                            weights[side] += math.exp(logprob)
            else:
                word = choice.text.strip().lower()
                for side, name in enumerate(folded):
                    if word.startswith(name):
                        weights[side] += 1.0
        result = (weights[0], weights[1])
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result
