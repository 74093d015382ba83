"""The tool-calling policy's prompt (tools, conversation, tried siblings, give-up) and how replies
(native tool calls, JSON text, answers, give-ups, garbage) become proposals."""

from __future__ import annotations

from typing import Any

from treeagent.agents.base import NodeView, TrajectoryStep
from treeagent.agents.llm.client import LLMClient
from treeagent.agents.llm.config import LLMConfig
from treeagent.agents.llm.types import Choice
from treeagent.agents.tools import ToolPolicy, ToolPrompt
from treeagent.environments.base import Task
from treeagent.environments.tools import ToolAction, ToolEnv


def ls(path: str = ".") -> list[str]:
    """List the files in a folder.

    Args:
        path: the folder.
    """
    return ["a.txt"]


def rm(name: str) -> str:
    """Delete a file.

    Args:
        name: the file.
    """
    return f"removed {name}"


async def view_at(depth: int, tried: list[ToolAction]) -> NodeView:
    env = ToolEnv([ls, rm])
    task = Task(id="t", data={"turns": ["clean up", "now list"]})
    root = await env.reset(task)
    first = ToolAction.call("ls")
    step = await env.step(root.state, first)
    answered = await env.step(step.state, ToolAction.answer("cleaned"))
    trajectory = [
        TrajectoryStep(first, env.action_text(first), step.observation),
        TrajectoryStep(ToolAction.answer("cleaned"), "answer: cleaned", answered.observation),
    ]
    return NodeView(task=task, env=env, step=answered, depth=depth, trajectory_source=trajectory, tried=tried)


async def test_prompt_lists_tools_conversation_tried_siblings_and_give_up() -> None:
    view = await view_at(2, [ToolAction.call("rm", name="a.txt")])
    specs = view.env.tool_specs(view.state)  # type: ignore[attr-defined]
    prompt = ToolPrompt()
    messages = prompt.messages(view, specs, native=False, show_tried=True, allow_give_up=True)
    text = messages[1]["content"]
    assert text.index("Tools:") < text.index("Conversation so far:") < text.index("Steps already tried")
    assert "- ls(path?: string) - List the files in a folder." in text
    assert "User: clean up\nCall: ls()\nResult: ['a.txt']\nAssistant: cleaned\nUser: now list" in text
    assert "- rm(name='a.txt')" in text and "give_up_and_restart" in text
    plain = prompt.messages(view, specs, native=False, show_tried=False, allow_give_up=False)[1]["content"]
    assert "already tried" not in plain and "give_up_and_restart" not in plain
    short = prompt.compact().messages(view, specs, native=False, show_tried=True, allow_give_up=True)[1]["content"]
    assert "- ls(path?: string)\n" in short and len(short) < len(text)
    native = prompt.messages(view, specs, native=True, show_tried=False, allow_give_up=False)[1]["content"]
    assert "Tools:" not in native  # native mode sends the tools as `tools`


async def test_replies_become_proposals() -> None:
    async with LLMClient(LLMConfig(base_urls=["http://127.0.0.1:9/v1"])) as llm:
        policy = ToolPolicy(llm, mode="json")
        native_call = Choice(
            "", "tool_calls", tool_calls=[{"function": {"name": "rm", "arguments": '{"name": "a.txt"}'}}]
        )
        assert policy._proposal(native_call, True).action == ToolAction.call("rm", name="a.txt")
        text_call = Choice('{"tool": "ls", "arguments": {"path": "docs"}}', "stop")
        assert policy._proposal(text_call, True).action == ToolAction.call("ls", path="docs")
        answer = Choice('{"tool": "final_answer", "arguments": {"answer": "done"}}', "stop")
        assert policy._proposal(answer, True).action == ToolAction.answer("done")
        give_up = Choice('{"tool": "give_up_and_restart", "arguments": {}}', "stop")
        assert policy._proposal(give_up, True).give_up
        refused: Any = policy._proposal(give_up, False)
        assert refused.error is not None and "not offered" in refused.error
        cut = policy._proposal(Choice('{"tool": "ls", "argu', "length"), True)
        assert cut.error is not None and "cut at max_tokens" in cut.error
        prose = policy._proposal(Choice("I think we should list the files", "stop"), True)
        assert prose.error == "unusable reply: the reply holds no JSON step"
        policy.native = True  # a native server's plain text reply is the answer to the user
        assert policy._proposal(Choice("All done.", "stop"), True).action == ToolAction.answer("All done.")
