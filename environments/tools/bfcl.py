"""The BFCL multi-turn suite (Berkeley Function-Calling Leaderboard, `bfcl-eval` wheel) as tasks.

Each entry is a conversation of user turns over BFCL's Python-simulated backends (file system,
messaging, ticketing, trading, travel, vehicle, ...). The backends become stateful tools (their
documented methods, with BFCL's own function documents as schemas); the questions become tasks
with `data["turns"]`. Success is judged by BFCL's own multi-turn checker: the calls a path made,
turn by turn, are replayed by BFCL against fresh backends next to the ground truth, and both the
end state of every backend and the execution results must match after every turn.

The ground truth is kept out of the task (and so out of prompts and traces); `ground_truth(id)`
reads it for the judge only.
"""

from __future__ import annotations

import copy
import functools
import importlib
import itertools
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from treeagent.environments.base import Task
from treeagent.environments.tools.actions import ToolAction, parse_call
from treeagent.environments.tools.env import ToolEnv, ToolState
from treeagent.environments.tools.tools import Toolbox, backend_tools

INSTALL_HINT = "install it with: pip install --no-deps bfcl-eval==2026.3.23 mpmath"
CATEGORIES = ("multi_turn_base",)
_judge_lock = threading.Lock()
_judge_ids = itertools.count()


class BFCLUnavailable(RuntimeError):
    """bfcl-eval is not installed (or an unsupported category was asked for)."""


def _package_dir() -> Path:
    try:
        import bfcl_eval
    except ImportError:
        raise BFCLUnavailable(f"the BFCL suite needs the bfcl-eval wheel; {INSTALL_HINT}") from None
    return Path(bfcl_eval.__file__).parent


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise BFCLUnavailable(f"unknown BFCL category {category!r}; supported: {', '.join(CATEGORIES)}")


@functools.cache
def _entries(category: str) -> dict[str, dict[str, Any]]:
    _check_category(category)
    path = _package_dir() / "data" / f"BFCL_v4_{category}.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


@functools.cache
def _answers(category: str) -> dict[str, list[list[str]]]:
    path = _package_dir() / "data" / "possible_answer" / f"BFCL_v4_{category}.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row["ground_truth"] for row in rows}


@functools.cache
def _function_docs(class_name: str) -> tuple[dict[str, Any], ...]:
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    path = _package_dir() / "data" / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[class_name]
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def load_tasks(category: str = "multi_turn_base", limit: int | None = None) -> list[Task]:
    """BFCL's questions of `category` as tasks, in BFCL's order (the first `limit` if given)."""
    entries = list(_entries(category).values())
    entries.sort(key=lambda e: int(str(e["id"]).rsplit("_", 1)[-1]))
    tasks = []
    for entry in entries[:limit]:
        turns = [_turn_text(turn) for turn in entry["question"]]
        tasks.append(
            Task(
                id=entry["id"],
                prompt=turns[0],
                data={
                    "suite": "bfcl",
                    "category": category,
                    "turns": turns,
                    "involved_classes": list(entry["involved_classes"]),
                },
            )
        )
    return tasks


def ground_truth(task_id: str, category: str = "multi_turn_base") -> list[list[str]]:
    """BFCL's ground-truth calls of a task, one list of Python-style call strings per turn."""
    try:
        return _answers(category)[task_id]
    except KeyError:
        raise KeyError(f"no BFCL task {task_id!r} in {category}") from None


def _turn_text(turn: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in turn if m.get("role", "user") == "user")


def make_backends(task: Task) -> dict[str, Any]:
    """Fresh instances of the task's backends, loaded with its initial configuration."""
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING, STATELESS_CLASSES

    entry = _entries(task.data.get("category", "multi_turn_base"))[task.id]
    backends: dict[str, Any] = {}
    for class_name in entry["involved_classes"]:
        cls = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name]), class_name)
        instance = cls()
        if class_name not in STATELESS_CLASSES:
            config = copy.deepcopy(entry["initial_config"].get(class_name, {}))
            instance._load_scenario(config, long_context=False)
        backends[class_name] = instance
    return backends


class BFCLEnv(ToolEnv):
    """`ToolEnv` over BFCL tasks: each task brings its own backends and their documented tools."""

    name = "bfcl"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_output_chars", 1500)
        super().__init__(**kwargs)

    def setup(self, task: Task) -> tuple[Toolbox, Mapping[str, Any]]:
        if task.data.get("suite") != "bfcl":
            raise ValueError(f"task {task.id!r} is not a BFCL task (load it with bfcl.load_tasks)")
        backends = make_backends(task)
        tools = []
        seen: set[str] = set()
        for class_name, instance in backends.items():
            for tool in backend_tools(class_name, instance, specs=_function_docs(class_name), coerce=False):
                if tool.name not in seen:  # BFCL resolves a name to one backend too
                    seen.add(tool.name)
                    tools.append(tool)
        return Toolbox.of(tools), backends


def ground_truth_actions(state: ToolState, turn_calls: list[str]) -> list[ToolAction]:
    """BFCL call strings of one turn as actions (positional arguments named by the tool's signature)."""
    actions = []
    for text in turn_calls:
        name, _ = parse_call(text, positional=tuple(f"_{i}" for i in range(16)))
        tool = state.toolbox.get(name)
        name, arguments = parse_call(text, tool.positional if tool is not None else ())
        actions.append(ToolAction(kind="call", name=name, arguments=arguments))
    return actions


def call_strings(state: ToolState) -> list[list[list[str]]]:
    """The executed calls of a path in BFCL's decoded form: turns -> steps -> call strings."""
    turns: list[list[list[str]]] = []
    for turn in range(len(state.turns)):
        calls = [
            f"{c.name}({', '.join(f'{k}={v!r}' for k, v in c.arguments.items())})"
            for c in state.calls_of_turn(turn)
            if c.executed
        ]
        turns.append([calls] if calls else [])
    return turns


def judge(state: ToolState, category: str = "multi_turn_base") -> dict[str, Any]:
    """BFCL's multi-turn verdict on the path that led to `state`: {"valid": bool, ...}.

    Turns the path never reached count as turns without calls (failed where the ground truth
    has calls), as in BFCL when a model stops early.
    """
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    task = state.task
    entry = _entries(category)[task.id]
    test_entry = {
        "id": entry["id"],
        "initial_config": entry["initial_config"],
        "involved_classes": entry["involved_classes"],
    }
    # BFCL's executor keeps backend instances in its module globals, keyed by a model name and
    # the entry id: a fresh name per verdict keeps verdicts apart, and its instances are dropped.
    with _judge_lock:
        model_name = f"treeagent_judge_{next(_judge_ids)}"
        try:
            result = multi_turn_checker(
                call_strings(state), ground_truth(task.id, category), test_entry, category, model_name
            )
        except Exception as exc:  # the checker asserts on malformed input: a failed verdict
            result = {"valid": False, "error_message": f"checker failed: {type(exc).__name__}: {exc}"}
        finally:
            space = vars(multi_turn_utils)
            for key in [k for k in space if k.startswith(model_name)]:
                del space[key]
    return {k: v for k, v in result.items() if k in ("valid", "error_message", "error_type")}
