"""Prompts and reply schemas for tool-calling policies.

The prompt runs from the most shared to the least, for the engine's prefix cache: the tool list
(the same for the whole task), the conversation so far (shared by every node below), and last the
tail that varies at this node (calls already tried here, the give-up option, the instruction).
In text/JSON mode the reply is one JSON object `{"tool": NAME, "arguments": {...}}`, decoded
under a schema (an `anyOf` with one branch per tool) where the server supports guided decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from treeagent.agents.base import NodeView
from treeagent.environments.tools.actions import ANSWER_TOOL, GIVE_UP_TOOL, ToolAction
from treeagent.environments.tools.schema import ToolSpec

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolPrompt:
    """The texts and size limits of the tool-calling prompt (override with `replace`)."""

    system: str = (
        "You are an assistant that fulfils the user's requests by calling tools, one call per step. "
        "Use the tools' exact names and argument names. When the current request is fully done, give a short "
        "final answer; the user may then ask something else."
    )
    json_instruction: str = (
        'Reply with the next step as one JSON object: {"tool": "<tool name>", "arguments": {...}}. '
        f'If the request is done, reply {{"tool": "{ANSWER_TOOL}", "arguments": {{"answer": "<short answer>"}}}}.'
    )
    native_instruction: str = f"Call the next tool, or call {ANSWER_TOOL} when the request is done."
    tried_header: str = "Steps already tried from here (choose a different one):"
    give_up: str = f'If this path cannot fulfil the request, reply {{"tool": "{GIVE_UP_TOOL}", "arguments": {{}}}}.'
    #: characters of each tool's description shown (0: names and arguments only)
    describe_chars: int = 90
    #: the tool list keeps descriptions only while it stays under this many characters
    tools_chars: int = 2600
    max_steps: int = 10
    observation_chars: int = 300

    def compact(self) -> ToolPrompt:
        """A shorter form for prompts that overflow the model's context."""
        return replace(self, describe_chars=0, max_steps=3, observation_chars=120)

    def tool_list(self, specs: Sequence[ToolSpec]) -> str:
        lines = [f"- {s.signature(self.describe_chars)}" for s in specs]
        if self.describe_chars and sum(len(line) + 1 for line in lines) > self.tools_chars:
            lines = [f"- {s.signature(0)}" for s in specs]
        return "\n".join(lines)

    def conversation(self, view: NodeView) -> str:
        lines = [f"User: {view.env.describe(view.task).strip()}"]
        steps = list(view.trajectory)
        shown = steps[-self.max_steps :]
        if len(shown) < len(steps):
            lines.append(f"... ({len(steps) - len(shown)} earlier steps)")
        for step in shown:
            action = step.action if isinstance(step.action, ToolAction) else None
            if action is not None and action.kind == "answer":
                lines.append(f"Assistant: {action.text}")
                lines.append(_cut(step.observation, self.observation_chars * 2))
            else:
                lines.append(f"Call: {step.action_text}")
                lines.append(f"Result: {_cut(step.observation, self.observation_chars)}")
        return "\n".join(lines)

    def messages(
        self, view: NodeView, specs: Sequence[ToolSpec], *, native: bool, show_tried: bool, allow_give_up: bool
    ) -> list[Message]:
        parts = [f"Tools:\n{self.tool_list(specs)}"] if not native else []
        parts.append(f"Conversation so far:\n{self.conversation(view)}")
        if show_tried and view.tried:
            tried = "\n".join(f"- {_text(view, a)}" for a in view.tried)
            parts.append(f"{self.tried_header}\n{tried}")
        if allow_give_up:
            parts.append(self.give_up)
        parts.append(self.native_instruction if native else self.json_instruction)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": "\n\n".join(parts)}]


def reply_schema(specs: Sequence[ToolSpec], allow_give_up: bool, answer_chars: int = 200) -> dict[str, Any]:
    """A JSON schema admitting exactly one valid step: a documented call, an answer or a give-up."""
    branches = [_branch(s.name, _arguments_schema(s.parameters)) for s in specs]
    answer = {
        "type": "object",
        "properties": {"answer": {"type": "string", "maxLength": answer_chars}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    branches.append(_branch(ANSWER_TOOL, answer))
    if allow_give_up:
        branches.append(_branch(GIVE_UP_TOOL, {"type": "object", "properties": {}, "additionalProperties": False}))
    return {"title": "ToolStep", "anyOf": branches}


def native_tools(specs: Sequence[ToolSpec], allow_give_up: bool) -> list[dict[str, Any]]:
    """OpenAI `tools` for the specs, plus the answer and (optionally) give-up pseudo-tools."""
    extra = [
        ToolSpec(
            name=ANSWER_TOOL,
            description="Finish the current request with a short answer to the user.",
            parameters={"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
        )
    ]
    if allow_give_up:
        extra.append(ToolSpec(name=GIVE_UP_TOOL, description="Abandon this attempt and restart from an earlier step."))
    return [s.openai() for s in (*specs, *extra)]


def _branch(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": name}, "arguments": arguments},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


def _arguments_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    props = {k: _strip(v) for k, v in (parameters.get("properties") or {}).items()}
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [r for r in parameters.get("required") or [] if r in props]
    if required:
        schema["required"] = required
    return schema


def _strip(prop: Any) -> Any:
    """A property schema without prose and defaults (they only lengthen the grammar)."""
    if not isinstance(prop, dict):
        return prop
    out = {k: v for k, v in prop.items() if k not in ("description", "default", "title", "examples")}
    if isinstance(out.get("items"), dict):
        out["items"] = _strip(out["items"])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _strip(v) for k, v in out["properties"].items()}
    return out


def _text(view: NodeView, action: Any) -> str:
    try:
        return str(view.env.action_text(action, view.state))
    except Exception:
        return str(action)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
