"""Your own tools, searched with DFSDT: a tiny note-taking backend and a stateless calculator.

Run it against any OpenAI-compatible server (the project's vLLM server by default):

    python examples/tools_agent.py --base-url http://127.0.0.1:8790/v1 --budget-calls 8

The backend's methods become tools (their type hints and docstrings are the schemas); each branch
of the search works on its own copy of the notes, so a deletion tried in one branch is never seen
by another. The last line printed is the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from treeagent.environments.base import Task
from treeagent.environments.tools import ToolEnv, backend_tools


class Notes:
    """A notebook: named notes with text."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {"shopping": "milk, eggs", "todo": "call Bob"}

    def list_notes(self) -> list[str]:
        """The names of all notes."""
        return sorted(self.notes)

    def read_note(self, name: str) -> str:
        """The text of a note.

        Args:
            name: the note's name, as listed by list_notes.
        """
        if name not in self.notes:
            raise KeyError(f"no note named {name!r}")
        return self.notes[name]

    def write_note(self, name: str, text: str) -> str:
        """Create or overwrite a note.

        Args:
            name: the note's name.
            text: the new text.
        """
        self.notes[name] = text
        return f"saved {name}"

    def delete_note(self, name: str) -> str:
        """Delete a note.

        Args:
            name: the note's name.
        """
        self.notes.pop(name)
        return f"deleted {name}"


def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: the first number.
        b: the second number.
    """
    return a + b


def build_env() -> ToolEnv:
    """The environment: the notebook's methods (stateful, copied per branch) and `add` (stateless)."""
    return ToolEnv([*backend_tools("notes", Notes()), add], backends=lambda task: {"notes": Notes()})


TASK = Task(
    id="notes-1",
    data={"turns": ["Add 'bread' to the shopping note.", "Now delete the todo note."]},
)


def judge(env_state: Any) -> bool:
    """Did the agent do what was asked? (The check a user writes for their own task.)"""
    notes = env_state.backends["notes"].notes
    return "bread" in notes.get("shopping", "") and "todo" not in notes


async def main(base_url: str | None, budget_calls: int) -> dict[str, Any]:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.agents.tools import ToolPolicy
    from treeagent.search import DFSDT, Budget

    env = build_env()
    config = LLMConfig.load(base_urls=base_url) if base_url else LLMConfig.load()
    async with LLMClient(config) as llm:
        search = DFSDT(ToolPolicy(llm), budget=Budget(max_llm_calls=budget_calls), width=2, max_depth=12)
        result = await search.run(env, TASK)
    state = result.best.step.state if result.best.step is not None else None
    return {
        "finished": result.solved,
        "task_done": bool(state is not None and judge(state)),
        "path": result.best_texts,
        "llm_calls": result.stats.llm_calls,
        "nodes": len(result.tree),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (default: the configured one)")
    parser.add_argument("--budget-calls", type=int, default=8, help="LLM calls the search may make")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.base_url, args.budget_calls))
    for step in outcome["path"]:
        print(" ->", step)
    print(json.dumps(outcome))
