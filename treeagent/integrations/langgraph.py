"""LangGraph both ways: our tree search as a node (or subgraph) of a LangGraph app, and a LangGraph
graph as our `Policy`.

- `search_node(env, controller)` is an async node function: it reads a task from the graph state,
  runs the controller on the environment, and writes the result back into the state (a JSON
  digest under `result_key`, the solved flag and the best actions; the full `SearchResult`, tree
  included, under `<result_key>_result` when `keep_result=True`). `search_graph(...)` wraps it in a
  compiled graph (START -> search -> END) to add as a subgraph.
- `LangGraphPolicy(graph)` asks a user's graph (anything with `ainvoke`) for candidate actions at
  each expansion. The graph gets the node as plain data (task, observation, legal actions as text,
  the path so far, the actions already tried, k) and answers with `actions`: texts or
  `{"action": ..., "prior": ...}` items, mapped onto the environment's actions the same way the
  LLM policy maps a model's reply. Model calls the graph reports under `usage` (one
  `{"prompt_tokens", "completion_tokens"}` per call) are charged to the search's budget.

The tree stays in our own data structures; LangGraph holds only what crosses the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from treeagent.agents.base import BudgetExhausted, NodeView, Proposal, Usage, release_calls, reserve_calls
from treeagent.environments.base import Environment, Task
from treeagent.search import Controller, SearchResult

EnvSource = Environment[Any, Any] | Callable[[], Environment[Any, Any]]
ControllerSource = Controller | Callable[[], Controller]


class SearchState(TypedDict, total=False):
    """The state `search_graph` reads and writes (a user's own state may carry more keys)."""

    task: Any
    search: dict[str, Any]
    solved: bool
    best_actions: list[str]
    #: the full SearchResult (tree included), with keep_result=True
    search_result: Any


class IntegrationError(ValueError):
    """A graph state or a graph's reply that the integration cannot use; the message says why."""


def _task_from(value: Any, task_from_text: Callable[[str], Task] | None) -> Task:
    if isinstance(value, Task):
        return value
    if isinstance(value, Mapping):
        return Task.model_validate(dict(value))
    if isinstance(value, str) and value.strip():
        return task_from_text(value) if task_from_text else Task(id=value[:60], prompt=value)
    raise IntegrationError(f"the graph state's task must be a Task, a dict or a text, not {type(value).__name__}")


def search_node(
    env: EnvSource,
    controller: ControllerSource,
    *,
    task_key: str = "task",
    result_key: str = "search",
    task_from_text: Callable[[str], Task] | None = None,
    keep_result: bool = False,
) -> Callable[[Mapping[str, Any]], Any]:
    """An async LangGraph node that searches `state[task_key]` and returns the result's keys.

    `env` and `controller` may be factories (called once per invocation), so concurrent or
    repeated invocations share no state; an instance is reused as given.
    """

    async def search(state: Mapping[str, Any]) -> dict[str, Any]:
        if task_key not in state:
            raise IntegrationError(f"the graph state has no {task_key!r}: put the task to search there")
        task = _task_from(state[task_key], task_from_text)
        environment = env() if callable(env) and not isinstance(env, Environment) else env
        ctrl = controller() if callable(controller) and not isinstance(controller, Controller) else controller
        if not isinstance(environment, Environment) or not isinstance(ctrl, Controller):
            raise IntegrationError("search_node needs an Environment and a Controller (or functions that make them)")
        try:
            result = await ctrl.run(environment, task)
        finally:
            if environment is not env:
                await environment.close()
        update: dict[str, Any] = {
            result_key: result.summary(),
            "solved": result.solved,
            "best_actions": result.best_texts,
        }
        if keep_result:
            update[f"{result_key}_result"] = result
        return update

    return search


def search_graph(
    env: EnvSource,
    controller: ControllerSource,
    *,
    state_schema: type[Any] = SearchState,
    name: str = "tree_search",
    **options: Any,
) -> Any:
    """A compiled LangGraph graph (START -> search -> END) running `search_node`; add it to an app
    with `builder.add_node("search", search_graph(...))`, or invoke it on its own."""
    from langgraph.graph import END, START, StateGraph

    node: Any = search_node(env, controller, **options)  # typed for any state mapping
    builder = StateGraph(state_schema)
    builder.add_node("search", node)
    builder.add_edge(START, "search")
    builder.add_edge("search", END)
    return builder.compile(name=name)


def graph_input(view: NodeView, k: int) -> dict[str, Any]:
    """What `LangGraphPolicy` hands the graph by default: the node as plain data."""
    env, state = view.env, view.state
    legal = env.legal_actions(state)
    return {
        "task": view.task.model_dump(mode="json"),
        "prompt": env.describe(view.task),
        "observation": env.render(state),
        "legal_actions": None if legal is None else [str(env.action_text(a, state)) for a in legal],
        "trajectory": [{"action": s.action_text, "observation": s.observation} for s in view.trajectory],
        "tried": [str(env.action_text(a, state)) for a in view.tried],
        "lessons": list(view.lessons),
        "depth": view.depth,
        "k": k,
    }


class LangGraphPolicy:
    """Implements `Policy` with a user's LangGraph graph (or any object with `ainvoke(dict)`)."""

    def __init__(
        self,
        graph: Any,
        *,
        to_input: Callable[[NodeView, int], dict[str, Any]] = graph_input,
        output_key: str = "actions",
        config: dict[str, Any] | None = None,
    ) -> None:
        if not callable(getattr(graph, "ainvoke", None)):
            raise TypeError(
                f"LangGraphPolicy needs a compiled graph or runnable with ainvoke; got {type(graph).__name__}"
            )
        self.graph = graph
        self.to_input = to_input
        self.output_key = output_key
        self.config = config

    async def propose(self, view: NodeView, k: int) -> list[Proposal]:
        if k < 1:
            return []
        # the graph's own model calls are charged after it ran; it is not started with none left
        if reserve_calls(view.usage, 1) == 0:
            raise BudgetExhausted("no LLM call left in the budget for the policy graph")
        release_calls(view.usage, 1)
        out = await self.graph.ainvoke(self.to_input(view, k), config=self.config)
        if not isinstance(out, Mapping) or self.output_key not in out:
            raise IntegrationError(f"the policy graph's final state has no {self.output_key!r} list of actions")
        self._charge(view, out.get("usage"))
        items = out[self.output_key]
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise IntegrationError(f"the policy graph's {self.output_key!r} must be a list, not {type(items).__name__}")
        return self._proposals(view, list(items), k)

    @staticmethod
    def _charge(view: NodeView, usage: Any) -> None:
        if not usage or view.usage is None:
            return
        for call in usage if isinstance(usage, Sequence) and not isinstance(usage, Mapping) else [usage]:
            view.usage.charge_llm(
                Usage(
                    prompt_tokens=int(call.get("prompt_tokens", 0)),
                    completion_tokens=int(call.get("completion_tokens", 0)),
                ),
                {"tag": "langgraph"},
            )

    @staticmethod
    def _proposals(view: NodeView, items: list[Any], k: int) -> list[Proposal]:
        from treeagent.agents.llm_policy import LLMPolicy

        env = view.env
        seen = {env.action_key(a) for a in view.tried}
        valid: list[Proposal] = []
        errors: list[Proposal] = []
        for item in items:
            raw, prior = (item.get("action"), item.get("prior")) if isinstance(item, Mapping) else (item, None)
            try:
                action = LLMPolicy._to_env_action(view, raw)
            except Exception as exc:  # not an action of this environment: a failed child, the search goes on
                errors.append(Proposal(error=f"not a valid action: {exc}", text=str(raw)))
                continue
            key = env.action_key(action)
            if key not in seen and len(valid) < k:
                seen.add(key)
                valid.append(Proposal(action=action, prior=None if prior is None else float(prior), text=str(raw)))
        return valid + errors  # as the LLM policy orders them: the controller keeps the first k


def result_of(state: Mapping[str, Any], result_key: str = "search") -> SearchResult | None:
    """The full `SearchResult` a `keep_result=True` node left in the state, if any."""
    value = state.get(f"{result_key}_result")
    return value if isinstance(value, SearchResult) else None
