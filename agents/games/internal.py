"""Internal search (the paper's second approach): the model writes a search tree in its own reply.

The prompt shows one worked example of a linearised tree (candidate moves, the opponent's reply
to each, a value) ending in `Best move: M`; the model writes its own for the position, within a
token budget. The move is read from the last `Best move:` line; if that is missing or not legal,
the legal candidate with the highest value in the tree is taken; if the tree names none, the
move falls back to the policy's prior for the position (which is itself legal by construction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from treeagent.agents.base import UsageSink
from treeagent.agents.games.policy import GameLLMPolicy, notation_of
from treeagent.agents.games.prompts import internal_search_messages
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.environments.games.notation import Notation

__all__ = ["InternalSearch", "InternalSearchResult", "parse_search"]

_BEST = re.compile(r"best\s*move\s*[:=]?\s*(\S+)", re.IGNORECASE)
_LINE = re.compile(r"^[\s\-*\d.)]*(\S+)\s*->.*?value\s*[:=]?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE | re.MULTILINE)


@dataclass(slots=True)
class InternalSearchResult:
    action: int
    #: where the move came from: "best" (the final line), "tree" (best-valued candidate), "prior".
    source: str
    text: str
    #: candidate lines read from the tree (legal or not)
    candidates: int
    prompt_tokens: int = 0
    completion_tokens: int = 0


def parse_search(notation: Notation, state: Any, text: str) -> tuple[int | None, str, int]:
    """(legal move or None, "best" | "tree" | "none", candidate lines) from a linearised tree."""
    lines = _LINE.findall(text)
    for match in reversed(_BEST.findall(text)):
        action = notation.parse(state, match.rstrip(".,;:!?"))
        if action is not None:
            return action, "best", len(lines)
    valued: list[tuple[float, int]] = []
    for move, value in lines:
        action = notation.parse(state, move.rstrip(".,;:!?"))
        if action is not None:
            valued.append((float(value), action))
    if valued:
        return max(valued, key=lambda pair: pair[0])[1], "tree", len(lines)
    return None, "none", len(lines)


class InternalSearch:
    """Chooses a move by one generation of at most `max_tokens` tokens (the search budget)."""

    def __init__(
        self,
        llm: LLMClient,
        *,
        max_tokens: int = 256,
        breadth: int = 3,
        temperature: float = 0.0,
        fallback: GameLLMPolicy | None = None,
    ) -> None:
        if max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8 to write a move, got {max_tokens}")
        self.llm = llm
        self.max_tokens = max_tokens
        self.breadth = breadth
        self.temperature = temperature
        self.fallback = fallback or GameLLMPolicy(llm)

    async def choose(self, env: Any, state: Any, sink: UsageSink | None = None) -> InternalSearchResult:
        notation = notation_of(env)
        messages = internal_search_messages(notation, state, env.game.new_initial_state(), self.breadth)
        sampling = Sampling(temperature=self.temperature, max_tokens=self.max_tokens)
        completion = await self.llm.complete(messages, sampling=sampling, sink=sink, tag="game-internal")
        text = completion.choices[0].text if completion.choices else ""
        action, source, candidates = parse_search(notation, state, text)
        prompt_tokens = completion.usage.prompt_tokens
        completion_tokens = completion.usage.completion_tokens
        if action is None:
            prior = await self.fallback.prior(env, state, sink)
            action, source = prior.best(), "prior"
            prompt_tokens += prior.prompt_tokens
            completion_tokens += prior.completion_tokens
        return InternalSearchResult(action, source, text, candidates, prompt_tokens, completion_tokens)
