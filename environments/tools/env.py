"""The tool-use environment: a conversation of user turns, answered with tool calls.

State is immutable from the outside and copied on write: a call on a backend deep-copies that
backend (only that one) into the new state, runs the method there, and leaves the parent's
state untouched, so siblings branch from the same world. Every call is validated against its
schema before it runs; an unknown tool, bad arguments, a tool that raises and a timeout all come
back as the observation, never as a crash. Outputs are capped in the observation (the state keeps
them whole, for judging).

Turns: a task is one request (`task.prompt`) or several (`task.data["turns"]`). An answer ends
the current turn; the next user message is its observation. Answering the last turn ends the
episode with reward `finish_reward` (1.0: the agent says it is done), or, with `judge`, the
judge's verdict (an oracle: use it knowingly).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, Task
from treeagent.environments.tools.actions import CallSyntaxError, ToolAction, action_from_data, parse_call
from treeagent.environments.tools.schema import ArgumentsError, ToolSpec
from treeagent.environments.tools.tools import Tool, Toolbox, format_output

#: builds a task's backends afresh (called once per reset)
BackendFactory = Callable[[Task], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One tool call on a path: what was asked, what came back, and whether it ran."""

    turn: int
    name: str
    arguments: dict[str, Any]
    output: str
    ok: bool
    executed: bool


@dataclass(frozen=True, slots=True)
class ToolState:
    """Where a tool-use episode stands. Backends are never mutated once in a state."""

    task: Task
    toolbox: Toolbox
    backends: Mapping[str, Any]
    turns: tuple[str, ...]
    turn: int = 0
    calls: tuple[CallRecord, ...] = ()
    answers: tuple[str, ...] = ()
    turn_calls: int = 0
    finished: bool = False
    gave_up: bool = False
    #: the backends as they stood when each turn was answered (for per-turn judging)
    turn_ends: tuple[Mapping[str, Any], ...] = field(default=())

    def calls_of_turn(self, turn: int) -> list[CallRecord]:
        return [c for c in self.calls if c.turn == turn]


class ToolEnv(Environment[ToolState, ToolAction]):
    """Tools from functions, backends or OpenAPI, driven by a policy's `ToolAction`s.

    tools: `Tool`s or plain typed functions (the same for every task).
    backends: the stateful backends of a task, {name: object} or a factory of them per task;
        their tools come from `backend_tools` and are passed in `tools`.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(deterministic=True)
    name: ClassVar[str] = "tools"

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        backends: Mapping[str, Any] | BackendFactory | None = None,
        *,
        timeout: float = 10.0,
        max_output_chars: int = 2000,
        max_calls_per_turn: int = 20,
        finish_reward: float = 1.0,
        judge: Callable[[ToolState], float] | None = None,
        resources: Iterable[Any] = (),
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if max_output_chars < 20:
            raise ValueError(f"max_output_chars must be at least 20, got {max_output_chars}")
        self.toolbox = Toolbox.of(tools)
        self._backends = backends
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        self.max_calls_per_turn = max_calls_per_turn
        self.finish_reward = finish_reward
        self.judge = judge
        #: things with an async `close()` (e.g. an OpenAPI client), closed with the environment
        self.resources = list(resources)

    # -- per-task setup (subclasses override) -----------------------------------------------------
    def setup(self, task: Task) -> tuple[Toolbox, Mapping[str, Any]]:
        """The toolbox and fresh backends of `task`."""
        if self._backends is None:
            backends: Mapping[str, Any] = {}
        elif callable(self._backends):
            backends = self._backends(task)
        else:
            backends = copy.deepcopy(dict(self._backends))
        return self.toolbox, backends

    @staticmethod
    def turns_of(task: Task) -> tuple[str, ...]:
        turns = task.data.get("turns")
        if turns:
            return tuple(str(t) for t in turns)
        if not task.prompt:
            raise ValueError(f"task {task.id!r} has no request: give a prompt or data['turns']")
        return (task.prompt,)

    # -- the contract ---------------------------------------------------------------------------------
    async def reset(self, task: Task) -> Step[ToolState]:
        toolbox, backends = await asyncio.to_thread(self.setup, task)
        turns = self.turns_of(task)
        state = ToolState(task=task, toolbox=toolbox, backends=dict(backends), turns=turns)
        return Step(state, observation=f"User: {turns[0]}", info={"turn": 0, "tools": len(toolbox.tools)})

    async def step(self, state: ToolState, action: ToolAction) -> Step[ToolState]:
        action = self.decode_action(action)
        if state.finished:
            raise InvalidAction("the episode is over: every turn has been answered")
        if action.kind == "give_up":
            done = replace(state, gave_up=True, finished=True)
            return Step(done, observation="Gave up on this branch.", reward=0.0, terminal=True, info={"give_up": True})
        if action.kind == "answer":
            return self._answer(state, action.text)
        return await self._call(state, action)

    def _answer(self, state: ToolState, text: str) -> Step[ToolState]:
        ends = (*state.turn_ends, state.backends)
        answers = (*state.answers, text)
        if state.turn + 1 < len(state.turns):
            nxt = replace(state, turn=state.turn + 1, answers=answers, turn_calls=0, turn_ends=ends)
            return Step(nxt, observation=f"User: {state.turns[state.turn + 1]}", info={"turn": nxt.turn})
        done = replace(state, answers=answers, finished=True, turn_ends=ends)
        reward = self.judge(done) if self.judge is not None else self.finish_reward
        return Step(done, observation="All requests answered.", reward=reward, terminal=True, info={"finished": True})

    async def _call(self, state: ToolState, action: ToolAction) -> Step[ToolState]:
        if state.turn_calls >= self.max_calls_per_turn:
            done = replace(state, finished=True)
            text = f"Stopped: more than {self.max_calls_per_turn} tool calls in one turn."
            return Step(done, observation=text, reward=0.0, terminal=True, info={"step_limit": True})
        tool = state.toolbox.get(action.name)
        if tool is None:
            names = ", ".join(state.toolbox.names()[:40])
            return self._rejected(
                state, action, f"Invalid call: there is no tool named {action.name!r}. Tools: {names}"
            )
        try:
            arguments = tool.validate(action.arguments)
        except ArgumentsError as exc:
            return self._rejected(state, action, f"Invalid call to {tool.name}: {exc}")
        if tool.backend is not None and tool.backend not in state.backends:
            return self._rejected(state, action, f"Invalid call: backend {tool.backend!r} is not set up")
        # The branch's own copy of the backend the tool changes (only that one); the copy is made
        # where the call runs (a worker thread for sync tools), off the event loop.
        branch = dict(state.backends)
        limit = tool.timeout or self.timeout
        try:
            result = await asyncio.wait_for(self._run(tool, branch, arguments), limit)
            output, ok = format_output(result), True
        except TimeoutError:
            # The call may still be running on the copy: drop the copy, keep the parent's world.
            branch = dict(state.backends)
            output, ok = f"Error during execution: {tool.name} timed out after {limit:g} s", False
        except Exception as exc:  # the tool's own failure is the model's observation (its effects stay, as in BFCL)
            output, ok = f"Error during execution: {exc}", False
        record = CallRecord(state.turn, tool.name, dict(action.arguments), output, ok, True)
        nxt = replace(state, backends=branch, calls=(*state.calls, record), turn_calls=state.turn_calls + 1)
        info = {"tool": tool.name, "ok": ok, "output_chars": len(output)}
        return Step(nxt, observation=self._cap(output), info=info)

    @staticmethod
    async def _run(tool: Tool, branch: dict[str, Any], arguments: dict[str, Any]) -> Any:
        """Run `tool` on `branch` (the parent's backends), first replacing its backend by a copy."""

        def copy_and_run() -> Any:
            if tool.backend is not None:
                branch[tool.backend] = copy.deepcopy(branch[tool.backend])
            return tool.run(branch, arguments)

        if tool.is_async:
            if tool.backend is not None:
                branch[tool.backend] = await asyncio.to_thread(copy.deepcopy, branch[tool.backend])
            return await tool.run(branch, arguments)
        result = await asyncio.to_thread(copy_and_run)
        return await result if asyncio.iscoroutine(result) else result

    def _rejected(self, state: ToolState, action: ToolAction, message: str) -> Step[ToolState]:
        record = CallRecord(state.turn, action.name, dict(action.arguments), message, False, False)
        nxt = replace(state, calls=(*state.calls, record), turn_calls=state.turn_calls + 1)
        return Step(nxt, observation=message, info={"tool": action.name, "ok": False, "rejected": True})

    def _cap(self, text: str) -> str:
        limit = self.max_output_chars
        if len(text) <= limit:
            return text
        return f"{text[:limit]}... [{len(text) - limit} more characters cut]"

    async def close(self) -> None:
        for resource in self.resources:
            await resource.close()

    # -- text --------------------------------------------------------------------------------------
    def render(self, state: ToolState) -> str:
        if state.finished:
            return "Finished." if not state.gave_up else "Gave up."
        head = f"Turn {state.turn + 1} of {len(state.turns)}. User: {state.turns[state.turn]}"
        return f"{head}\nTool calls so far in this turn: {state.turn_calls}"

    def describe(self, task: Task) -> str:
        return self.turns_of(task)[0]

    def tool_specs(self, state: ToolState) -> list[ToolSpec]:
        """The tools the model may call in `state` (policies build their prompts from these)."""
        return state.toolbox.specs()

    # -- actions as data ---------------------------------------------------------------------------
    def decode_action(self, data: Any) -> ToolAction:
        try:
            return action_from_data(data)
        except (CallSyntaxError, ValueError) as exc:
            raise InvalidAction(str(exc)) from None

    def parse_action(self, state: ToolState, text: str) -> ToolAction:
        stripped = text.strip()
        if stripped.startswith(("{", "[")):
            return self.decode_action(stripped)
        try:
            name, _ = parse_call(stripped, positional=_ALL_POSITIONAL)
        except CallSyntaxError as exc:
            raise InvalidAction(str(exc)) from None
        tool = state.toolbox.get(name)
        try:
            name, arguments = parse_call(stripped, tool.positional if tool is not None else ())
        except CallSyntaxError as exc:
            raise InvalidAction(str(exc)) from None
        return ToolAction(kind="call", name=name, arguments=arguments)

    def action_key(self, action: ToolAction) -> str:
        data: Any
        try:
            data = self.decode_action(action).model_dump(mode="json")
        except InvalidAction:  # a failed proposal carries no action
            data = action
        return json.dumps(data, sort_keys=True, default=str)

    def action_text(self, action: ToolAction, state: ToolState | None = None) -> str:
        try:
            return self.decode_action(action).text_form()
        except InvalidAction:
            return str(action)


_ALL_POSITIONAL = tuple(f"_{i}" for i in range(16))
