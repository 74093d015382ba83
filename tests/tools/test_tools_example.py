"""examples/tools_agent.py: a user's own tools (a stateful notebook and a function) under DFSDT."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from treeagent.environments.tools import ToolAction
from treeagent.search import DFSDT, Budget

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tools_agent.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tools_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_tools_solve_its_task_under_a_scripted_search(scripted: Any) -> None:
    example = load_example()
    env = example.build_env()
    specs = {s.name: s for s in env.toolbox.specs()}
    assert set(specs) == {"list_notes", "read_note", "write_note", "delete_note", "add"}
    assert specs["write_note"].parameters["required"] == ["name", "text"]
    assert specs["add"].parameters["properties"]["a"]["type"] == "number"
    read = "read_note(name='shopping')"
    write = "write_note(name='shopping', text='milk, eggs, bread')"
    policy = scripted(
        {
            (): [ToolAction.call("delete_note", name="shopping"), ToolAction.call("read_note", name="shopping")],
            ("delete_note(name='shopping')",): ["GIVE_UP"],
            (read,): [ToolAction.call("write_note", name="shopping", text="milk, eggs, bread")],
            (read, write): [ToolAction.answer("added")],
            (read, write, "answer: added"): [ToolAction.call("delete_note", name="todo")],
            (read, write, "answer: added", "delete_note(name='todo')"): [ToolAction.answer("deleted")],
        }
    )
    result = await DFSDT(policy, budget=Budget(max_expansions=20), width=2, give_up_backoff=1).run(env, example.TASK)
    assert result.solved
    state = result.best.step.state
    assert example.judge(state)
    # the abandoned branch deleted the shopping note in its own copy only
    first = result.tree.root.children[0]
    assert first.text == "delete_note(name='shopping')"
    assert "shopping" not in first.step.state.backends["notes"].notes
    assert state.backends["notes"].notes["shopping"] == "milk, eggs, bread"
