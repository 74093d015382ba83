"""Agents for tool use: the tool-calling policy (native tools or text/JSON) and its prompts."""

from treeagent.agents.tools.policy import ToolPolicy
from treeagent.agents.tools.prompts import ToolPrompt, native_tools, reply_schema

__all__ = ["ToolPolicy", "ToolPrompt", "native_tools", "reply_schema"]
