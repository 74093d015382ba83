"""The tool-calling policy: k candidate steps (calls, answers, give-ups) for a node of a tool task.

It asks the server for native tool calls (OpenAI `tools`) when the server supports them and
falls back to text/JSON mode otherwise: the reply is one JSON object decoded under a schema with
one branch per tool. Support is detected once, from the server's refusal of a request carrying
`tools` (vLLM without `--enable-auto-tool-choice --tool-call-parser` answers 400), and remembered.
Siblings already tried at the node are listed in the prompt (DFSDT's diversity prompt) and dropped
if proposed again; a give-up reply becomes `Proposal(give_up=True)`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from treeagent.agents.base import NodeView, Proposal
from treeagent.agents.llm.client import Choice, ContextLengthError, LLMClient, LLMRequestError, Sampling
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.parsing import extract_json
from treeagent.agents.tools.prompts import ToolPrompt, native_tools, reply_schema
from treeagent.environments.tools.actions import ANSWER_TOOL, CallSyntaxError, ToolAction, action_from_data
from treeagent.environments.tools.schema import ToolSpec

Mode = Literal["auto", "native", "json"]
_NATIVE_REFUSALS = ("tool choice", "tool-call-parser", "tool_call_parser", "tools", "tool_choice")


class ToolPolicy:
    """Implements `Policy` for `ToolEnv` (any environment with `tool_specs(state)`).

    mode: "native" (OpenAI tools), "json" (text/JSON, schema-guided), or "auto" (native if the
        server takes it, else JSON).
    show_tried: list the node's tried siblings in the prompt (DFSDT); allow_give_up: offer the
        give-up step from depth `give_up_min_depth` on (a give-up at the root would end the whole
        search before it tried anything). guided: send the reply schema with JSON-mode requests.
    """

    def __init__(
        self,
        llm: LLMClient,
        *,
        mode: Mode = "auto",
        prompt: ToolPrompt | None = None,
        sampling: Sampling | None = None,
        show_tried: bool = True,
        allow_give_up: bool = True,
        give_up_min_depth: int = 2,
        guided: bool = True,
    ) -> None:
        if mode not in ("auto", "native", "json"):
            raise ValueError(f"mode must be auto, native or json, got {mode!r}")
        self.llm = llm
        self.prompt = prompt or ToolPrompt()
        self.sampling = sampling or Sampling(temperature=0.8, max_tokens=160)
        self.show_tried = show_tried
        self.allow_give_up = allow_give_up
        self.give_up_min_depth = give_up_min_depth
        self.guided = guided
        #: None until known: whether the server serves native tool calls
        self.native: bool | None = {"auto": None, "native": True, "json": False}[mode]
        self.mode = mode

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        if k < 1:
            return []
        specs: list[ToolSpec] = list(view.env.tool_specs(view.state))  # type: ignore[attr-defined]
        give_up = self.allow_give_up and view.depth >= self.give_up_min_depth
        if self.native is not False:
            try:
                choices = await self._ask(view, k, specs, give_up, native=True)
                self.native = True
            except LLMRequestError as exc:
                if self.mode == "native" or not any(m in str(exc).lower() for m in _NATIVE_REFUSALS):
                    raise
                self.native = False  # the server has no native tool calling: text/JSON from now on
        if self.native is False:
            choices = await self._ask(view, k, specs, give_up, native=False)
        proposals = [self._proposal(choice, give_up) for choice in choices]
        return LLMPolicy._merge(view, proposals)

    async def _ask(self, view: NodeView, k: int, specs: list[ToolSpec], give_up: bool, *, native: bool) -> list[Choice]:
        prompt = self.prompt
        for attempt in range(2):
            messages = prompt.messages(view, specs, native=native, show_tried=self.show_tried, allow_give_up=give_up)
            try:
                if native:
                    completion = await self.llm.complete(
                        messages,
                        n=k,
                        sampling=self.sampling,
                        sink=view.usage,
                        tag="propose",
                        tools=native_tools(specs, give_up),
                        tool_choice="auto",
                    )
                else:
                    schema = reply_schema(specs, give_up) if self.guided else None
                    completion = await self.llm.complete(
                        messages, n=k, sampling=self.sampling, schema=schema, sink=view.usage, tag="propose"
                    )
                return completion.choices
            except ContextLengthError:
                if attempt:
                    raise
                prompt = prompt.compact()  # once more, shorter
        raise AssertionError("unreachable")  # pragma: no cover

    def _proposal(self, choice: Choice, give_up: bool) -> Proposal:
        meta: dict[str, Any] = {"finish_reason": choice.finish_reason}
        text = choice.text
        try:
            if choice.tool_calls:
                call = choice.tool_calls[0].get("function") or {}
                text = json.dumps({"tool": call.get("name"), "arguments": call.get("arguments")})
                action = action_from_data({"tool": call.get("name"), "arguments": call.get("arguments") or "{}"})
            else:
                data = extract_json(text)
                if data is None:
                    if self.native and text.strip():
                        action = ToolAction.answer(text.strip())  # a native reply without a call answers
                    else:
                        raise CallSyntaxError("the reply holds no JSON step")
                else:
                    action = action_from_data(data)
        except (CallSyntaxError, ValueError) as exc:
            reason = str(exc)
            if choice.finish_reason == "length":
                reason += " (the reply was cut at max_tokens)"
            return Proposal(error=f"unusable reply: {reason}", text=text, meta=meta)
        if action.kind == "give_up":
            if not give_up:
                return Proposal(error="gave up where giving up is not offered", text=text, meta=meta)
            return Proposal(give_up=True, text=text, meta=meta)
        if action.kind == "call" and action.name == ANSWER_TOOL:
            action = ToolAction.answer(str(action.arguments.get("answer", "")))
        return Proposal(action=action, text=text, meta=meta)
