"""Tool use: tools from functions, stateful backends and OpenAPI documents; the BFCL suite.

`ToolEnv` runs validated tool calls on per-branch copies of the backends; `ToolAction` is what a
policy proposes (a call, an answer, a give-up).
"""

from treeagent.environments.tools.actions import ANSWER_TOOL, GIVE_UP_TOOL, CallSyntaxError, ToolAction, parse_call
from treeagent.environments.tools.env import CallRecord, ToolEnv, ToolState
from treeagent.environments.tools.schema import ArgumentsError, SchemaError, ToolSpec, spec_from_callable
from treeagent.environments.tools.tools import Tool, Toolbox, ToolError, backend_tools, function_tool

__all__ = [
    "ANSWER_TOOL",
    "GIVE_UP_TOOL",
    "ArgumentsError",
    "CallRecord",
    "CallSyntaxError",
    "SchemaError",
    "Tool",
    "ToolAction",
    "ToolEnv",
    "ToolError",
    "ToolSpec",
    "ToolState",
    "Toolbox",
    "backend_tools",
    "function_tool",
    "parse_call",
    "spec_from_callable",
]
