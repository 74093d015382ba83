"""One model call whose prompt is rebuilt shorter when it does not fit the context window.

A long HumanEval prompt plus a long (often rambling) program, its feedback and the lessons can
exceed a small model's 2048 tokens; the server then refuses the request. The call is retried once
with the prompts' `shorter()` form instead of failing the node.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from treeagent.agents.base import UsageSink
from treeagent.agents.coding.prompts import CodePrompts, Message
from treeagent.agents.llm.client import Completion, ContextLengthError, LLMClient, Sampling

Build = Callable[[CodePrompts], list[Message]]


async def complete_fitting(
    llm: LLMClient,
    build: Build,
    prompts: CodePrompts,
    *,
    sampling: Sampling,
    sink: UsageSink | None,
    tag: str,
    schema: type[BaseModel] | None = None,
    prefill: str | None = None,
) -> Completion:
    """One sampled completion of `build(prompts)`, or of `build(prompts.shorter())` if too long."""
    try:
        return await llm.complete(build(prompts), sampling=sampling, schema=schema, sink=sink, tag=tag, prefill=prefill)
    except ContextLengthError:
        messages = build(prompts.shorter())
        return await llm.complete(messages, sampling=sampling, schema=schema, sink=sink, tag=tag, prefill=prefill)
