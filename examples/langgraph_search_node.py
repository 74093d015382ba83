"""Tree search as one node of your LangGraph app: parse a request, search, answer.

    python examples/langgraph_search_node.py "4 9 10 13"

The middle node is a compiled subgraph from `treeagent.integrations.langgraph.search_graph`: it
runs best-first search on the Game of 24 (no model: a uniform policy and random rollouts) and
leaves the result in the graph state, next to the app's own keys.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.base import Task
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.integrations.langgraph import search_graph
from treeagent.search import BestFirst, Budget


class AppState(TypedDict, total=False):
    request: str  # the app's input
    task: Task  # read by the search node
    search: dict[str, Any]  # written by it: the result's digest (stats, best path, value)
    solved: bool
    best_actions: list[str]
    answer: str  # the app's output


def parse(state: AppState) -> dict[str, Any]:
    return {"task": game24_task(state["request"].replace(",", " ").split())}


def answer(state: AppState) -> dict[str, Any]:
    if not state["solved"]:
        return {"answer": f"no solution found in {state['search']['stats']['expansions']} expansions"}
    return {"answer": "; ".join(state["best_actions"])}


def make_controller() -> BestFirst:
    """A fresh controller per request (its evaluator's random state is its own)."""
    return BestFirst(
        UniformPolicy(), RandomRollout(n=8, seed=1), branching=64, max_depth=3, budget=Budget(max_expansions=200)
    )


def build_app() -> Any:
    builder = StateGraph(AppState)
    builder.add_node("parse", parse)
    builder.add_node("search", search_graph(Game24Env, make_controller))
    builder.add_node("answer", answer)
    builder.add_edge(START, "parse")
    builder.add_edge("parse", "search")
    builder.add_edge("search", "answer")
    builder.add_edge("answer", END)
    return builder.compile()


async def main(request: str) -> None:
    state = await build_app().ainvoke({"request": request})
    print(f"{request} -> {state['answer']}  ({state['search']['stats']['expansions']} expansions)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "4 9 10 13"))
