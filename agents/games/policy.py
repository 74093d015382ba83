"""The model as a game-playing policy: a move of its own, and priors over the legal moves for PUCT.

One request per position (cached, so a search that comes back to a position asks nothing more)
returns the model's reply with each token's top log-probabilities. Priors are read from those
(see priors.py) and normalised over the legal moves only; a server without log-probabilities
gives sampled frequencies instead (set `samples` > 1), and a position where the model named no
legal move at all gets uniform priors. A reply that names no legal move is never played: the
request is retried (up to `attempts`), then the move falls back to the prior's most likely one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from treeagent.agents.base import NodeView, Proposal, UsageSink
from treeagent.agents.games.priors import logprob_mass, normalise, sample_frequencies, uniform
from treeagent.agents.games.prompts import move_messages
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.environments.games.notation import Notation, notation_for

__all__ = ["GameLLMPolicy", "MovePrior", "notation_of", "position_key"]


def notation_of(env: Any) -> Notation:
    """The notation of an OpenSpiel environment's game (`env.game_name`)."""
    name = getattr(env, "game_name", None)
    if not isinstance(name, str):
        raise TypeError(f"{type(env).__name__} is not a board game environment (no game_name); use OpenSpielEnv")
    return notation_for(name)


@dataclass(slots=True)
class MovePrior:
    """What the model said about one position."""

    #: action id -> prior, over the legal moves only, summing to 1.
    priors: dict[int, float]
    #: "logprobs", "samples" or "uniform" (the model named no legal move).
    source: str
    #: the first legal move the model wrote itself (None when every reply was illegal or unparsable).
    choice: int | None = None
    replies: list[str] = field(default_factory=list)
    #: replies that named no legal move.
    illegal: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def best(self) -> int:
        """The prior's most likely move (the first such in the legal order on ties)."""
        return max(self.priors, key=lambda a: self.priors[a])


class GameLLMPolicy:
    """Implements `Policy` for OpenSpiel games; also the "model alone" move chooser (`choose`).

    samples: replies per request (n); with log-probabilities one is enough.
    attempts: requests per position before giving up on the model naming a legal move.
    logprobs: ask for token log-probabilities (top `top_logprobs`, at most 20 on vLLM).
    uniform_mix: share of uniform prior mixed in (exploration in PUCT; 0 keeps the model's priors).
    fallback_samples: replies per request when the server gives no log-probabilities (or
        `logprobs` is off): their frequencies are the priors.
    max_tokens: reply length; by default as many tokens as the longest legal move name has characters.
    """

    def __init__(
        self,
        llm: LLMClient,
        *,
        samples: int = 1,
        attempts: int = 3,
        temperature: float = 0.0,
        logprobs: bool = True,
        top_logprobs: int = 20,
        uniform_mix: float = 0.0,
        max_tokens: int | None = None,
        cache_size: int = 20_000,
        fallback_samples: int = 4,
    ) -> None:
        if samples < 1 or attempts < 1:
            raise ValueError(f"samples and attempts must be at least 1, got {samples} and {attempts}")
        if not 0.0 <= uniform_mix <= 1.0:
            raise ValueError(f"uniform_mix must be in [0, 1], got {uniform_mix}")
        self.llm = llm
        self.samples = samples
        self.attempts = attempts
        self.temperature = temperature
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs
        self.uniform_mix = uniform_mix
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self.fallback_samples = fallback_samples
        #: set once the server answered a logprobs request without them (priors are counted then)
        self._no_logprobs = False
        self._cache: OrderedDict[tuple[str, str], MovePrior] = OrderedDict()
        #: positions asked about, and how many answers came from the cache
        self.asked = 0
        self.cache_hits = 0

    # -- the Policy contract ----------------------------------------------------------------------
    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        legal = view.env.legal_actions(view.state)
        if not legal or k < 1:
            return []
        prior = await self.prior(view.env, view.state, view.usage)
        ranked = sorted(legal, key=lambda a: -prior.priors.get(a, 0.0))[:k]
        return [Proposal(action=a, prior=prior.priors[a], meta={"source": prior.source}) for a in ranked]

    # -- one position -----------------------------------------------------------------------------
    async def choose(self, env: Any, state: Any, sink: UsageSink | None = None) -> tuple[int, MovePrior]:
        """The model's own move: its first legal reply, else (after the retries) the prior's best."""
        prior = await self.prior(env, state, sink, need_choice=True)
        return (prior.choice if prior.choice is not None else prior.best()), prior

    async def prior(
        self, env: Any, state: Any, sink: UsageSink | None = None, *, need_choice: bool = False
    ) -> MovePrior:
        """Priors over the legal moves of `state` (cached per game and position).

        Requests are retried while the model gives nothing to read: no legal reply and no
        log-probability on a legal move; with `need_choice`, until it writes a legal move itself.
        """
        notation = notation_of(env)
        key = (notation.game, position_key(state))
        self.asked += 1
        cached = self._cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            self._cache.move_to_end(key)
            return cached
        result = await self._ask(env, notation, state, sink, need_choice)
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    async def _ask(
        self, env: Any, notation: Notation, state: Any, sink: UsageSink | None, need_choice: bool
    ) -> MovePrior:
        names = notation.move_names(state)
        legal = list(names.values())
        messages = move_messages(notation, state, env.game.new_initial_state())
        longest = max((len(n) for n in names), default=1)
        # each token spells at least one character: `longest` tokens can name any legal move, and no
        # more lets a reply run on past a one-character move ("1" then "2": no column "12")
        max_tokens = self.max_tokens or min(16, longest)
        out = MovePrior(priors={}, source="uniform")
        mass: dict[int, float] = {}
        reads = 0
        chosen: list[int | None] = []
        for attempt in range(self.attempts):
            counting = not self.logprobs or self._no_logprobs
            # Without log-probabilities the prior is a count of sampled replies: ask for several,
            # at a temperature that varies them. A retry samples too: at temperature 0 the same
            # prompt would give the same illegal reply.
            n = max(self.samples, self.fallback_samples) if counting else self.samples
            temperature = max(self.temperature, 1.0) if attempt > 0 or (counting and n > 1) else self.temperature
            sampling = Sampling(
                temperature=temperature,
                max_tokens=max_tokens,
                logprobs=self.logprobs,
                top_logprobs=self.top_logprobs if self.logprobs else None,
            )
            completion = await self.llm.complete(messages, n=n, sampling=sampling, sink=sink, tag="game-move")
            if self.logprobs and completion.choices and not any(c.token_logprobs for c in completion.choices):
                self._no_logprobs = True  # this server ignores `logprobs`: count samples from now on
            out.requests += completion.requests
            out.prompt_tokens += completion.usage.prompt_tokens
            out.completion_tokens += completion.usage.completion_tokens
            for choice in completion.choices:
                out.replies.append(choice.text)
                action = notation.find(state, choice.text)
                chosen.append(action)
                if action is None:
                    out.illegal += 1
                elif out.choice is None:
                    out.choice = action
                if choice.token_logprobs:
                    by_name = logprob_mass(choice.token_logprobs, names, case_sensitive=notation.case_sensitive)
                    if by_name:
                        reads += 1
                        for name, amount in by_name.items():
                            mass[names[name]] = mass.get(names[name], 0.0) + amount
            if reads and (out.choice is not None or not need_choice):
                break
            counted = len(chosen) >= max(self.samples, self.fallback_samples) or not self._no_logprobs
            if not reads and out.choice is not None and counted:
                break
        priors = normalise(mass, legal) if reads else None
        if priors is not None:
            out.source = "logprobs"
        else:
            priors = sample_frequencies(chosen, legal)
            out.source = "samples" if priors is not None else "uniform"
        if priors is None:
            priors = uniform(legal)
        if self.uniform_mix > 0.0:
            share = self.uniform_mix / len(legal)
            priors = {a: (1.0 - self.uniform_mix) * p + share for a, p in priors.items()}
        out.priors = priors
        return out


def position_key(state: Any) -> str:
    """A position's identity: OpenSpiel's serialisation (the move history for most games)."""
    try:
        return str(state.serialize())
    except Exception:  # a state without serialise: its text and side to move
        return f"{state}|{state.current_player()}"
