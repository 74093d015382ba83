"""The coding prompts: write, revise, plan, rethink, judge and reflect.

Each prompt is one system and one user message, ordered for the engine's prefix cache: the
problem first (shared by every call on the problem), then the branch's plan and program, then the
feedback, and last the instruction that differs between calls. Prompts are built from the task's
public part and the node's state only; they never see hidden tests (the task does not hold them).
Programs and feedback are cut so that a prompt fits a 2048-token context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from treeagent.environments.base import Task
from treeagent.environments.code import CodeState, candidate_view, task_fields

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CodePrompts:
    """The texts; every field can be overridden with `with_`."""

    system: str = "You are an expert Python programmer. You write correct, complete, simple Python functions."
    write: str = (
        "Write the complete Python function `{entry}` that solves the task. Reply with one ```python code "
        "block holding the whole function (with its imports), and nothing else."
    )
    write_plan: str = "Follow the plan above."
    revise: str = (
        "The program above is wrong. Fix it. Reply with one ```python code block holding the whole corrected "
        "function `{entry}`, and nothing else."
    )
    plan: str = (
        "Do not write code yet. In two or three short sentences, describe an approach that solves the task: "
        "the idea, the steps, and the edge cases to handle."
    )
    plan_tried: str = "Approaches already proposed (describe a different one):"
    rethink: str = (
        "The plan or its program is wrong. First write a corrected plan in one or two sentences after "
        "'Plan:', then the whole corrected function `{entry}` in one ```python code block."
    )
    judge: str = (
        "Is this program a correct solution of the task, for every valid input? "
        'Reply as JSON {{"score": N}} with N an integer from 0 (certainly wrong) to 10 (certainly correct).'
    )
    reflect: str = (
        "In one or two sentences, say what is wrong with the program above and how to fix it. Do not write code."
    )
    lessons_header: str = "Lessons from earlier attempts:"
    feedback_header: str = "Result of the public tests:"
    program_chars: int = 2400
    feedback_chars: int = 900
    max_lessons: int = 3
    max_public_shown: int = 8

    def with_(self, **changes: Any) -> CodePrompts:
        return replace(self, **changes)

    def shorter(self) -> CodePrompts:
        """The same prompts with less room for programs, feedback, lessons and tests: the retry
        when a prompt does not fit the model's context."""
        return self.with_(
            program_chars=min(self.program_chars, 900),
            feedback_chars=min(self.feedback_chars, 350),
            max_lessons=min(self.max_lessons, 1),
            max_public_shown=min(self.max_public_shown, 3),
        )

    # -- pieces ------------------------------------------------------------------------------------
    def problem(self, task: Task) -> str:
        _, tests = task_fields(task)
        text = f"Task:\n```python\n{task.prompt.strip()}\n```"
        if tests:
            text += "\n\nPublic tests:\n" + "\n".join(tests[: self.max_public_shown])
        return text

    def branch(self, task: Task, state: CodeState, feedback: str | None = None) -> list[str]:
        parts = []
        if state.plan:
            parts.append(f"Plan:\n{state.plan}")
        if state.program is not None:
            entry, _ = task_fields(task)
            code = _cut(candidate_view(state.program, task.prompt, entry), self.program_chars)
            parts.append(f"Program:\n```python\n{code}\n```")
            parts.append(f"{self.feedback_header}\n{_cut(feedback or state.feedback, self.feedback_chars)}")
        return parts

    def lessons(self, lessons: Sequence[str]) -> list[str]:
        shown = [lesson for lesson in lessons if lesson][-self.max_lessons :]
        if not shown:
            return []
        return ["\n".join([self.lessons_header, *(f"- {lesson}" for lesson in shown)])]

    def _messages(self, parts: Sequence[str]) -> list[Message]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": "\n\n".join(p for p in parts if p)},
        ]

    # -- the prompts ---------------------------------------------------------------------------------
    def write_messages(self, task: Task, state: CodeState, lessons: Sequence[str] = ()) -> list[Message]:
        entry, _ = task_fields(task)
        tail = [self.write_plan] if state.plan else []
        parts = [self.problem(task), *self.branch(task, state), *self.lessons(lessons), *tail]
        return self._messages([*parts, self.write.format(entry=entry)])

    def revise_messages(
        self, task: Task, state: CodeState, lessons: Sequence[str] = (), feedback: str | None = None
    ) -> list[Message]:
        entry, _ = task_fields(task)
        parts = [self.problem(task), *self.branch(task, state, feedback), *self.lessons(lessons)]
        return self._messages([*parts, self.revise.format(entry=entry)])

    def plan_messages(self, task: Task, tried: Sequence[str] = ()) -> list[Message]:
        parts = [self.problem(task)]
        if tried:
            parts.append("\n".join([self.plan_tried, *(f"- {_cut(p, 300)}" for p in tried)]))
        return self._messages([*parts, self.plan])

    def rethink_messages(
        self, task: Task, state: CodeState, feedback: str, lessons: Sequence[str] = ()
    ) -> list[Message]:
        entry, _ = task_fields(task)
        parts = [self.problem(task), *self.branch(task, state, feedback), *self.lessons(lessons)]
        return self._messages([*parts, self.rethink.format(entry=entry)])

    def judge_messages(self, task: Task, state: CodeState) -> list[Message]:
        return self._messages([self.problem(task), *self.branch(task, state), self.judge])

    def reflect_messages(self, task: Task, state: CodeState, feedback: str | None = None) -> list[Message]:
        return self._messages([self.problem(task), *self.branch(task, state, feedback), self.reflect])


DEFAULT_PROMPTS = CodePrompts()


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
