"""The LLM policy: k candidate actions for a node from one n-sampled request.

The k siblings come from one request (`n=k`, one shared prefill), are parsed (structured JSON
when an action schema is given, tolerant free text otherwise), turned into the environment's
actions, and de-duplicated; the share of samples that agreed on an action becomes its prior
(PUCT). Siblings already tried are shown to the model (DFSDT's diversity prompt) and dropped if
proposed again. A reply that cannot be parsed or is not a legal action becomes a
`Proposal(error=...)`: the controller makes it a failed child and the search goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, create_model

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.llm.client import Choice, LLMClient, Sampling
from treeagent.agents.parsing import parse_free_text, parse_structured
from treeagent.agents.prompts import GIVE_UP, PromptTemplate, template_for
from treeagent.environments.base import InvalidAction


class LLMPolicy:
    """Implements `Policy` with an `LLMClient`.

    action_schema: a pydantic model for the action; sent as the request's JSON schema.
    to_action: maps a parsed schema instance to the environment's action (default: the value of
        a single-field schema, else the instance itself).
    seeded: send the node's seed (`view.seed`) with each request, for reproducible sampling.
        Off by default: vLLM CPU 0.32 crashes under load on seeded requests.
    constrain_legal: when the environment lists its legal actions (at most `max_constrained`)
        and no action schema is given, the request's schema is an enum of their texts, so the
        engine can only decode legal actions (guided decoding).
    max_samples: the most completions one request asks for. A controller may ask for "every
        action" (MCTS on a game); a model can only sample, so k is capped here, and at the number
        of legal actions where the environment lists them.
    """

    def __init__(
        self,
        llm: LLMClient,
        *,
        template: PromptTemplate | None = None,
        action_schema: type[BaseModel] | None = None,
        to_action: Callable[[BaseModel], Any] | None = None,
        sampling: Sampling | None = None,
        show_tried: bool = True,
        allow_give_up: bool = False,
        seeded: bool = False,
        constrain_legal: bool = True,
        max_constrained: int = 256,
        max_samples: int = 8,
    ) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        self.llm = llm
        self.template = template
        self.action_schema = action_schema
        self.to_action = to_action
        self.sampling = sampling or Sampling(temperature=0.8, max_tokens=96)
        self.show_tried = show_tried
        self.allow_give_up = allow_give_up
        self.seeded = seeded
        self.constrain_legal = constrain_legal
        self.max_constrained = max_constrained
        self.max_samples = max_samples

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        legal = view.env.legal_actions(view.state)
        k = min(k, self.max_samples, len(legal) if legal is not None else k)
        if k < 1:
            return []
        template = template_for(view, self.template)
        schema = self.action_schema or self._legal_schema(view, legal)
        messages = template.propose_messages(
            view,
            show_tried=self.show_tried,
            allow_give_up=self.allow_give_up and schema is None,
            structured=schema is not None,
        )
        sampling = self.sampling.model_copy(update={"seed": view.seed}) if self.seeded else self.sampling
        completion = await self.llm.complete(
            messages, n=k, sampling=sampling, schema=schema, sink=view.usage, tag="propose"
        )
        proposals = [self._proposal(view, choice, schema) for choice in completion.choices]
        return self._merge(view, proposals)

    def _legal_schema(self, view: NodeView, legal: Sequence[Any] | None) -> type[BaseModel] | None:
        if not self.constrain_legal:
            return None
        if not legal or len(legal) > self.max_constrained:
            return None
        return legal_action_schema([str(view.env.action_text(a, view.state)) for a in legal])

    # -- one reply -> one proposal ---------------------------------------------------------------
    def _proposal(self, view: NodeView, choice: Choice, schema: type[BaseModel] | None) -> Proposal:
        text = choice.text
        meta: dict[str, Any] = {"finish_reason": choice.finish_reason}
        if choice.logprob is not None:
            meta["logprob"] = choice.logprob
        if self.allow_give_up and GIVE_UP in text:
            return Proposal(give_up=True, text=text, meta=meta)
        if schema is not None:
            value, error = parse_structured(text, schema)
            if value is None:
                return Proposal(error=self._why(error, choice), text=text, meta=meta)
            raw = self._from_schema(value) if schema is self.action_schema else value.action  # type: ignore[attr-defined]
        else:
            raw = parse_free_text(text)
            if raw is None:
                return Proposal(error=self._why("empty reply", choice), text=text, meta=meta)
        try:
            action = self._to_env_action(view, raw)
        except Exception as exc:  # the environment's own parser rejected it: a failed child
            return Proposal(error=f"not a valid action: {exc}", text=text, meta=meta)
        return Proposal(action=action, text=text, meta=meta)

    def _from_schema(self, value: BaseModel) -> Any:
        if self.to_action is not None:
            return self.to_action(value)
        fields = type(value).model_fields
        if len(fields) == 1:
            return getattr(value, next(iter(fields)))
        return value

    @staticmethod
    def _why(error: str | None, choice: Choice) -> str:
        reason = error or "unparseable reply"
        if choice.finish_reason == "length":
            reason += " (the reply was cut at max_tokens)"
        return reason

    @staticmethod
    def _to_env_action(view: NodeView, raw: Any) -> Any:
        """The environment's action for `raw`: a legal action named by that text in this state, else
        what the environment parses it as (`parse_action` for text, `decode_action` otherwise)."""
        env, state = view.env, view.state
        legal = env.legal_actions(state)
        if legal is not None:
            wanted = str(raw).strip().lower()
            for candidate in legal:
                if str(env.action_text(candidate, state)).strip().lower() == wanted:
                    return candidate
        action = env.parse_action(state, raw) if isinstance(raw, str) else env.decode_action(raw)
        if legal is None:
            return action
        key = env.action_key(action)
        for candidate in legal:
            if env.action_key(candidate) == key:
                return candidate
        raise InvalidAction(f"{raw!r} is not one of the {len(legal)} legal actions")

    # -- de-duplication and priors ---------------------------------------------------------------
    @staticmethod
    def _merge(view: NodeView, proposals: list[Proposal]) -> list[Proposal]:
        env = view.env
        tried = set()
        for action in view.tried:
            try:
                tried.add(env.action_key(action))
            except Exception:
                tried.add(str(action))
        counts: dict[str, int] = {}
        first: dict[str, Proposal] = {}
        others: list[Proposal] = []
        errors: set[str] = set()
        for p in proposals:
            if p.error is not None or p.give_up:
                marker = "give_up" if p.give_up else p.error or ""
                if marker not in errors:
                    errors.add(marker)
                    others.append(p)
                continue
            key = env.action_key(p.action)
            if key in tried:
                continue
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, p)
        valid = sum(counts.values())
        merged = []
        for key, p in first.items():
            p.prior = counts[key] / valid
            p.meta["samples"] = counts[key]
            merged.append(p)
        merged.sort(key=lambda p: -(p.prior or 0.0))
        return merged + others


def legal_action_schema(texts: Sequence[str]) -> type[BaseModel]:
    """A schema whose only field must be one of `texts` (duplicates removed, order kept)."""
    choices = tuple(dict.fromkeys(texts))
    return create_model("Action", action=(Literal[choices], ...))  # type: ignore[arg-type]
