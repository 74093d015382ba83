"""The coding policy: k candidate programs (or plans) for a node of the code environment.

- At the root it writes programs from the task (or, with `plan_first`, proposes plans: PlanSearch,
  CodeTree's strategies); under a plan it writes programs that follow it.
- Under a failing program it revises it from the public tests' feedback: plain revision, with a
  reflection first (Reflexion, LATS: `reflector`), or RethinkMCTS's rethink (`rethink=True`: the
  failure in words, then a corrected plan and program together).

Each candidate is one request (n=1), so one sampled candidate costs one LLM call in every solver's
budget; the k requests go out together. The calls are reserved from the search's budget
(`view.usage`) first: with fewer left, fewer candidates are written; with none, `BudgetExhausted`
ends the expansion. Reflections go through the search (`view.reflect()`), which traces them and
restores them on resume; the lessons come back in `view.lessons`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

from treeagent.agents.base import BudgetExhausted, HeldCalls, NodeView, Proposal, release_calls, reserve_calls
from treeagent.agents.coding.context_fit import Build, complete_fitting
from treeagent.agents.coding.feedback import verbal_feedback
from treeagent.agents.coding.prompts import DEFAULT_PROMPTS, CodePrompts
from treeagent.agents.llm.client import Choice, LLMClient, Sampling
from treeagent.environments.code import CodeAction, CodeState, extract_code, task_fields

PROGRAM_SAMPLING = Sampling(temperature=0.8, top_p=0.95, max_tokens=384, stop=("\n```\n",))
GREEDY_SAMPLING = Sampling(temperature=0.0, top_p=1.0, max_tokens=384, stop=("\n```\n",))
PLAN_SAMPLING = Sampling(temperature=1.0, top_p=0.95, max_tokens=120)
#: the start of every token-level rollout: the reply opens a Python block, then the prefix follows
ROLLOUT_OPENING = "```python\n"
#: alternatives recorded per generated token (the token tree's priors)
ROLLOUT_TOP_LOGPROBS = 5
#: where a rollout stops: the end of the code block, or the start of demo code after the function
ROLLOUT_STOP = ("\n```", "\nif __name__", "\nprint(", "\nassert ")
_AFTER_FUNCTION = ("def ", "async def ", "@", "class ", "import ", "from ")

_PLAN = re.compile(r"plan\s*:\s*(.+?)(?:```|$)", re.IGNORECASE | re.DOTALL)


class CodePolicy:
    """Implements `Policy` for `CodeEnv`; see the module docstring.

    programs_per_plan: candidates written under a plan node (PlanSearch writes one per plan).
    revise: False stops a branch at its program (best-of-N, PlanSearch): a program node gets no
        children.
    greedy_first: the first program written from the task alone is sampled at temperature 0
        (the greedy answer), the others at `sampling`'s temperature: a search then starts from the
        baseline's own candidate instead of only from noisier samples.
    reflect: before revising a failing program, ask the search for a lesson on it (Reflexion,
        LATS; the controller's `reflector` writes it), when at least two calls are left (one is
        kept for the revision).
    """

    def __init__(
        self,
        llm: LLMClient,
        *,
        prompts: CodePrompts = DEFAULT_PROMPTS,
        sampling: Sampling | None = None,
        plan_sampling: Sampling | None = None,
        plan_first: bool = False,
        programs_per_plan: int | None = None,
        revise: bool = True,
        greedy_first: bool = True,
        rethink: bool = False,
        reflect: bool = False,
    ) -> None:
        self.llm = llm
        self.prompts = prompts
        self.sampling = sampling or PROGRAM_SAMPLING
        self.plan_sampling = plan_sampling or PLAN_SAMPLING
        self.plan_first = plan_first
        self.programs_per_plan = programs_per_plan
        self.revise = revise
        self.greedy_first = greedy_first
        self.rethink = rethink
        self.reflect = reflect

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        state = view.state
        if not isinstance(state, CodeState):
            raise TypeError(f"CodePolicy works on the code environment, not {type(view.env).__name__}")
        task = view.task
        if state.program is None and state.plan is None and self.plan_first:
            return await self._plans(view, k)
        if state.program is None:
            if state.plan is not None and self.programs_per_plan is not None:
                k = min(k, self.programs_per_plan)
            lessons = list(view.lessons)
            greedy = self.greedy_first and state.plan is None and view.depth == 0 and not view.tried
            build: Build = lambda p: p.write_messages(task, state, lessons)  # noqa: E731
            return await self._programs(view, k, build, "write", greedy_first=greedy)
        if not self.revise:
            return []
        lessons = list(view.lessons)
        if self.reflect:
            lesson = await self._reflect_keeping_a_call(view)
            if lesson and lesson not in lessons:
                lessons.append(lesson)
        if self.rethink:
            feedback = verbal_feedback(state)
            return await self._programs(
                view, k, lambda p: p.rethink_messages(task, state, feedback, lessons), "rethink"
            )
        return await self._programs(view, k, lambda p: p.revise_messages(task, state, lessons), "revise")

    async def continue_from(self, view: NodeView, prefix: str, *, temperature: float = 0.0) -> Proposal:
        """One rollout of a program written from the task alone that starts with `prefix` (token-level
        search): the reply is prefilled with a code fence and the prefix, the model continues it
        (greedy at temperature 0), and the engine's prefix cache makes the shared start cheap. The
        one call is reserved by the client from `view.usage` (`BudgetExhausted` when none is left)."""
        task = view.task
        entry, _ = task_fields(task)
        sampling = (GREEDY_SAMPLING if temperature == 0 else self.sampling).model_copy(
            update={
                "temperature": temperature,
                "logprobs": True,
                "top_logprobs": ROLLOUT_TOP_LOGPROBS,
                "stop": ROLLOUT_STOP,
            }
        )
        lessons = list(view.lessons)
        build: Build = lambda p: p.write_messages(task, view.state, lessons)  # noqa: E731
        opening = ROLLOUT_OPENING + prefix
        completion = await complete_fitting(
            self.llm,
            build,
            self.prompts,
            sampling=sampling,
            sink=view.usage,
            tag="rollout",
            prefill=opening,
        )
        if not completion.choices:
            return Proposal(error="the model returned no reply")
        choice = completion.choices[0]
        proposal = self._program(replace(choice, text=opening + choice.text), entry, with_plan=False)
        # Only the function's body is a place to branch: the signature and docstring the model
        # writes again, and the demo code after the function, do not change what is tested.
        output = prefix + choice.text
        start, end = body_span(output, entry)
        steps, offset = [], len(prefix)
        for t in choice.token_logprobs or ():
            if offset >= end:
                break
            steps.append((t.token, t.logprob, t.top if offset >= start else {}))
            offset += len(t.token)
        proposal.meta["prefix"] = prefix
        proposal.meta["steps"] = steps
        if output.startswith(prefix + "".join(s[0] for s in steps)):
            # the tokens spell the output: prefix + tokens + rest is the rollout again (token edits)
            proposal.meta["rest"] = output[offset:]
        return proposal

    def from_output(self, view: NodeView, text: str) -> Proposal:
        """The proposal for `text` as if the model had written it after the rollout's opening
        (an edited rollout: no model call)."""
        entry, _ = task_fields(view.task)
        return self._program(Choice(text=ROLLOUT_OPENING + text, finish_reason="stop"), entry, with_plan=False)

    @staticmethod
    async def _reflect_keeping_a_call(view: NodeView) -> str:
        """The search's lesson on this node, asked for only when a call is left for the revision."""
        probe = reserve_calls(view.usage, 2)
        release_calls(view.usage, probe)
        return await view.reflect() if probe >= 2 else ""

    async def _sample(
        self, view: NodeView, build: Build, k: int, sampling: Sampling, tag: str, greedy_first: bool = False
    ) -> list[Choice]:
        granted = reserve_calls(view.usage, k)
        if not granted:
            raise BudgetExhausted(f"no LLM call left in the budget to {tag}")
        held = HeldCalls(view.usage, granted)
        samplings = [GREEDY_SAMPLING if greedy_first and i == 0 else sampling for i in range(granted)]
        try:
            completions = await asyncio.gather(
                *(
                    complete_fitting(self.llm, build, self.prompts, sampling=each, sink=held, tag=tag)
                    for each in samplings
                )
            )
        finally:
            held.close()
        # Samples of one prompt are exchangeable: ordering them by text makes the children the
        # same whatever order the replies arrived in (recorded runs replay to the same tree).
        return sorted((choice for c in completions for choice in c.choices[:1]), key=lambda c: c.text)

    async def _programs(
        self, view: NodeView, k: int, build: Build, tag: str, greedy_first: bool = False
    ) -> list[Proposal]:
        entry, _ = task_fields(view.task)
        proposals = []
        for choice in await self._sample(view, build, k, self.sampling, tag, greedy_first):
            proposals.append(self._program(choice, entry, with_plan=tag == "rethink"))
        return proposals

    @staticmethod
    def _program(choice: Choice, entry: str, *, with_plan: bool) -> Proposal:
        text = choice.text
        meta: dict[str, Any] = {"finish_reason": choice.finish_reason}
        code = extract_code(text, entry)
        if not code.strip():
            cut = " (the reply was cut at max_tokens)" if choice.finish_reason == "length" else ""
            return Proposal(error=f"no code in the reply{cut}", text=text, meta=meta)
        plan = None
        if with_plan:
            match = _PLAN.search(text)
            plan = " ".join(match.group(1).split())[:600] if match else None
        return Proposal(action=CodeAction(text=code, plan=plan or None), text=text, meta=meta)

    async def _plans(self, view: NodeView, k: int) -> list[Proposal]:
        tried = [a.text for a in view.tried if isinstance(a, CodeAction) and a.kind == "plan"]
        proposals = []
        build: Build = lambda p: p.plan_messages(view.task, tried)  # noqa: E731
        for choice in await self._sample(view, build, k, self.plan_sampling, "plan"):
            plan = " ".join(choice.text.replace("```", " ").split())
            if not plan:
                proposals.append(Proposal(error="empty plan", text=choice.text))
            else:
                proposals.append(Proposal(action=CodeAction(kind="plan", text=plan[:800]), text=choice.text))
        return proposals


def body_span(code: str, entry: str) -> tuple[int, int]:
    """Where the code of function `entry`'s body lies in `code`: from the end of its docstring (or
    of its `def` line) to the end of its last line of code, before any top-level code that is not
    another definition or an import. (len(code), len(code)) when the function is not there."""
    start = end = len(code)
    offset, state, quote = 0, "before", ""
    for line in code.splitlines(keepends=True):
        text = line.strip()
        if state == "before":
            if line.startswith((f"def {entry}(", f"async def {entry}(")):
                state, start = "signature", offset + len(line)
        elif state == "signature":
            if text.startswith(('"""', "'''")):
                quote = text[:3]
                rest = text[3:]
                state = "body" if quote in rest else "docstring"
                start = offset + len(line)
            elif text:
                state = "body"
        elif state == "docstring":
            if quote in text:
                state, start = "body", offset + len(line)
        elif text and not line[0].isspace() and not line.startswith(_AFTER_FUNCTION):
            break
        if state in ("signature", "body") and text:
            end = offset + len(line.rstrip())
        offset += len(line)
    return start, max(start, end)
