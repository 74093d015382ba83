"""LangGraph both ways: our search as a node/subgraph returning its result in the graph state, and
a LangGraph graph as the policy whose proposals our controllers expand."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.integrations.langgraph import IntegrationError, LangGraphPolicy, result_of, search_graph, search_node
from treeagent.search import BestFirst, Budget, SearchResult, Status


def best_first() -> BestFirst:
    return BestFirst(
        UniformPolicy(), RandomRollout(n=8, seed=1), branching=64, max_depth=3, budget=Budget(max_expansions=100)
    )


def timeless(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "stats": {k: v for k, v in summary["stats"].items() if k != "wall_seconds"}}


async def replay(actions: list[str], numbers: list[int]) -> Fraction:
    """Apply the moves to the puzzle with the environment; the number left at the end."""
    env, step = Game24Env(), await Game24Env().reset(game24_task(numbers))
    for text in actions:
        step = await env.step(step.state, text)
    assert step.terminal
    return step.state.numbers[0]


async def test_search_graph_returns_the_result_in_state() -> None:
    graph = search_graph(Game24Env, best_first, keep_result=True)
    state = await graph.ainvoke({"task": game24_task([4, 9, 10, 13])})
    direct = await best_first().run(Game24Env(), game24_task([4, 9, 10, 13]))
    assert state["solved"] is True
    assert timeless(state["search"]) == timeless(direct.summary())  # the same search as run directly
    assert state["best_actions"] == direct.best_texts
    assert await replay(state["best_actions"], [4, 9, 10, 13]) == 24
    full = result_of(state)
    assert isinstance(full, SearchResult) and len(full.tree) == state["search"]["nodes"]


async def test_search_node_in_a_user_app_with_its_own_keys() -> None:
    class App(TypedDict, total=False):
        question: str
        task: Any
        plan: dict[str, Any]
        solved: bool
        best_actions: list[str]
        reply: str

    builder = StateGraph(App)
    builder.add_node("parse", lambda s: {"task": game24_task(s["question"].split())})
    builder.add_node("search", search_node(Game24Env(), best_first, result_key="plan"))
    builder.add_node("reply", lambda s: {"reply": " then ".join(s["best_actions"]) if s["solved"] else "no luck"})
    for a, b in ((START, "parse"), ("parse", "search"), ("search", "reply"), ("reply", END)):
        builder.add_edge(a, b)
    state = await builder.compile().ainvoke({"question": "5 5 8 13"})
    assert state["plan"]["task"] == "24:5 5 8 13" and state["plan"]["solved"]
    assert state["reply"] == " then ".join(state["best_actions"])
    assert await replay(state["best_actions"], [5, 5, 8, 13]) == 24
    with pytest.raises(IntegrationError, match="no 'task'"):
        await search_node(Game24Env(), best_first)({"question": "5 5 8 13"})


async def test_the_example_app_answers() -> None:
    from examples.langgraph_search_node import build_app

    state = await build_app().ainvoke({"request": "2 3 5 6"})
    assert state["solved"] and state["answer"] == "; ".join(state["best_actions"])
    assert await replay(state["best_actions"], [2, 3, 5, 6]) == 24


class Proposals(TypedDict, total=False):
    legal_actions: list[str] | None
    tried: list[str]
    k: int
    depth: int
    actions: list[Any]
    usage: list[dict[str, int]]


def heuristic_graph(calls: list[dict[str, Any]]) -> Any:
    """A user's graph with no model: rank the legal moves (products first), propose one move that
    is not legal here and the top k-1 (with priors); report one pretend model call of 10+5 tokens."""

    def rank(state: Proposals) -> dict[str, Any]:
        calls.append(dict(state))
        legal = [m for m in state["legal_actions"] or [] if m not in state["tried"]]
        legal.sort(key=lambda m: ("*" not in m, m))
        top = legal[: state["k"] - 1]
        return {"actions": ["99 + 1 = 100", *({"action": m, "prior": 1 / (i + 2)} for i, m in enumerate(top))]}

    def account(state: Proposals) -> dict[str, Any]:
        return {"usage": [{"prompt_tokens": 10, "completion_tokens": 5}]}

    builder = StateGraph(Proposals)
    builder.add_node("rank", rank)
    builder.add_node("account", account)
    builder.add_edge(START, "rank")
    builder.add_edge("rank", "account")
    builder.add_edge("account", END)
    return builder.compile()


async def test_langgraph_policy_proposals_are_expanded() -> None:
    calls: list[dict[str, Any]] = []
    policy = LangGraphPolicy(heuristic_graph(calls))
    search = BestFirst(policy, RandomRollout(n=4, seed=2), branching=3, max_depth=3, budget=Budget(max_llm_calls=4))
    result = await search.run(Game24Env(), game24_task([4, 9, 10, 13]))
    root = result.tree.root
    first = calls[0]
    assert first["k"] == 3 and first["depth"] == 0 and len(first["legal_actions"]) > 10
    expected = sorted(first["legal_actions"], key=lambda m: ("*" not in m, m))[:2]
    kids = [c for c in root.children if c.status != Status.FAILED]
    assert [str(c.action) for c in kids] == expected  # the graph's moves, in its order, became the children
    assert [c.prior for c in kids] == [1 / 2, 1 / 3]  # with the priors it gave them
    bad = [c for c in root.children if c.status == Status.FAILED]
    assert len(bad) == 1 and "not a valid action" in (bad[0].error or "")
    # one graph call per expansion, each charged as one model call with its tokens, within budget
    assert result.stats.llm_calls == len(calls) == result.stats.expansions <= 4
    assert result.stats.tokens == 15 * len(calls)
    assert all(c["depth"] >= 1 for c in calls[1:])


async def test_langgraph_policy_rejects_a_graph_without_actions() -> None:
    builder = StateGraph(Proposals)
    builder.add_node("nothing", lambda s: {"k": s["k"]})
    builder.add_edge(START, "nothing")
    builder.add_edge("nothing", END)
    search = BestFirst(LangGraphPolicy(builder.compile()), branching=2, budget=Budget(max_expansions=2))
    result = await search.run(Game24Env(), game24_task([4, 9, 10, 13]))
    assert not result.solved and result.stats.failed_nodes >= 1  # the node failed, the search ended cleanly
    with pytest.raises(TypeError, match="ainvoke"):
        LangGraphPolicy(object())


@pytest.mark.llm
async def test_search_node_with_the_live_model(live_base_url: str) -> None:
    from treeagent.agents.llm.client import LLMClient
    from treeagent.agents.llm.config import LLMConfig
    from treeagent.agents.llm_policy import LLMPolicy

    async with LLMClient(LLMConfig(base_urls=[live_base_url], request_timeout_s=120)) as llm:
        node = search_node(
            Game24Env,
            lambda: BestFirst(LLMPolicy(llm), RandomRollout(n=4), branching=2, budget=Budget(max_llm_calls=1)),
        )
        state = await node({"task": game24_task([4, 9, 10, 13])})
    stats = state["search"]["stats"]
    assert stats["llm_calls"] == 1 and stats["tokens"] > 0
    assert state["search"]["nodes"] >= 2  # the model's moves became children
    assert len(state["best_actions"]) >= 1


@pytest.mark.llm
async def test_the_langgraph_policy_example_with_the_live_model(live_base_url: str) -> None:
    from examples.langgraph_policy import solve

    os.environ.setdefault("TREEAGENT_API_KEY", "EMPTY")
    result = await solve("4 9 10 13", live_base_url, llm_calls=1)
    assert result.stats.llm_calls == 1 and result.stats.tokens > 0
    texts = [str(c.action) for c in result.tree.root.children if c.status != Status.FAILED]
    assert texts, "the graph's moves were not expanded"
    legal = {str(m) for m in Game24Env().legal_actions((await Game24Env().reset(game24_task([4, 9, 10, 13]))).state)}
    assert set(texts) <= legal  # guided decoding kept the model to legal moves
