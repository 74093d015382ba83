"""The reflector: a short lesson from a failed trajectory (LATS, Reflexion), kept short because
every later prompt carries it."""

from __future__ import annotations

from treeagent.agents.base import NodeView
from treeagent.agents.llm.client import LLMClient, Sampling
from treeagent.agents.parsing import first_sentences
from treeagent.agents.prompts import PromptTemplate, template_for


class LLMReflector:
    """Implements `Reflector` with one low-temperature model call."""

    def __init__(
        self,
        llm: LLMClient,
        *,
        template: PromptTemplate | None = None,
        sampling: Sampling | None = None,
        max_chars: int = 240,
    ) -> None:
        self.llm = llm
        self.template = template
        self.sampling = sampling or Sampling(temperature=0.3, max_tokens=80)
        self.max_chars = max_chars

    async def reflect(self, view: NodeView) -> str:
        template = template_for(view, self.template)
        completion = await self.llm.complete(
            template.reflect_messages(view), n=1, sampling=self.sampling, sink=view.usage, tag="reflect"
        )
        text = completion.choices[0].text if completion.choices else ""
        return first_sentences(text, self.max_chars)
