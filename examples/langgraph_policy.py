"""Your LangGraph agent as the policy of a tree search: the graph proposes moves, MCTS searches.

    TREEAGENT_BASE_URL=http://127.0.0.1:8765/v1 python examples/langgraph_policy.py "4 9 10 13"

The graph is an ordinary LangGraph app with two nodes: `ask` samples k moves from the model in one
request (the OpenAI client on any OpenAI-compatible server; on vLLM the reply is constrained to
the legal moves), and `keep_new` drops repeats and moves already tried. `LangGraphPolicy` calls it
at every expansion; the model calls it reports are charged to the search's budget.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from openai import AsyncOpenAI

from treeagent.agents.heuristics import RandomRollout
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.integrations.langgraph import LangGraphPolicy
from treeagent.search import MCTS, Budget, SearchResult


class ProposeState(TypedDict, total=False):
    observation: str  # given by LangGraphPolicy: the node as plain data
    legal_actions: list[str] | None
    tried: list[str]
    k: int
    actions: list[str]  # returned: the proposed moves
    usage: list[dict[str, int]]  # returned: one entry per model call


def build_graph(client: AsyncOpenAI, model: str, guided: bool = True) -> Any:
    async def ask(state: ProposeState) -> dict[str, Any]:
        legal = state.get("legal_actions") or []
        prompt = f"{state['observation']}\nPossible next steps:\n" + "\n".join(legal) + "\nWrite the best next step."
        extra = {"structured_outputs": {"choice": legal}} if guided and legal else None
        reply = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            n=state["k"],
            temperature=0.8,
            max_tokens=24,
            extra_body=extra,
        )
        usage = reply.usage
        spent = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else {}
        return {"actions": [c.message.content or "" for c in reply.choices], "usage": [spent]}

    def keep_new(state: ProposeState) -> dict[str, Any]:
        tried = set(state.get("tried") or [])
        fresh = [a.strip() for a in state["actions"] if a.strip() and a.strip() not in tried]
        return {"actions": list(dict.fromkeys(fresh))}

    builder = StateGraph(ProposeState)
    builder.add_node("ask", ask)
    builder.add_node("keep_new", keep_new)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "keep_new")
    builder.add_edge("keep_new", END)
    return builder.compile()


async def solve(numbers: str, base_url: str, llm_calls: int = 8) -> SearchResult:
    async with AsyncOpenAI(
        base_url=base_url, api_key=os.environ.get("TREEAGENT_API_KEY", "EMPTY"), timeout=120
    ) as client:
        model = (await client.models.list()).data[0].id
        policy = LangGraphPolicy(build_graph(client, model))
        search = MCTS(policy, RandomRollout(n=8), children_per_expansion=3, budget=Budget(max_llm_calls=llm_calls))
        return await search.run(Game24Env(), game24_task(numbers.split()))


async def main() -> None:
    numbers = sys.argv[1] if len(sys.argv) > 1 else "4 9 10 13"
    base_url = os.environ.get("TREEAGENT_BASE_URL", "http://127.0.0.1:8765/v1").split(",")[0]
    result = await solve(numbers, base_url)
    s = result.stats
    print(f"solved={result.solved}: {'; '.join(result.best_texts)}")
    print(
        f"{s.llm_calls} model calls by the graph, {s.tokens} tokens, {len(result.tree)} nodes, {s.wall_seconds:.1f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
