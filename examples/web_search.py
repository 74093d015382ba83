"""Best-first search over a real web page: a MiniWoB++ task in headless Chromium.

    python examples/web_search.py                        # the embedded model proposes and judges
    python examples/web_search.py --policy uniform       # no model: every listed action, scored by the page
    python examples/web_search.py --task login-user --seed 3 --expansions 6

With the model, the policy samples `branching` actions per expansion and the value function asks the
model whether each trajectory has succeeded, is on track or has failed (mean of a few verdicts);
the page's own reward ends the search when an action solves the task.
"""

from __future__ import annotations

import argparse
import asyncio

from treeagent.agents.heuristics import EnvReward, UniformPolicy
from treeagent.environments.web import WebEnv, miniwob_task
from treeagent.search import BestFirst, Budget, SearchResult


async def search(task_name: str, seed: int, policy: str, expansions: int) -> tuple[SearchResult, dict[str, int]]:
    env = WebEnv(max_live=6)
    task = miniwob_task(task_name, seed)
    try:
        if policy == "uniform":
            controller = BestFirst(UniformPolicy(), EnvReward(), branching=16, budget=Budget(max_expansions=expansions))
            return await controller.run(env, task), env.stats()
        from treeagent.agents.llm.client import LLMClient
        from treeagent.agents.llm.config import LLMConfig
        from treeagent.agents.llm.vllm_server import serve_or_connect
        from treeagent.web import WebSearchConfig, make_controller

        async with serve_or_connect() as server, LLMClient(LLMConfig.load(base_urls=server.base_url)) as llm:
            config = WebSearchConfig(controller="best_first", branching=3, samples=3, max_expansions=expansions)
            return await make_controller(llm, config).run(env, task), env.stats()
    finally:
        await env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="click-button", help="a MiniWoB++ task (treeagent web list)")
    parser.add_argument("--seed", type=int, default=1, help="the episode's seed")
    parser.add_argument("--policy", choices=("llm", "uniform"), default="llm")
    parser.add_argument("--expansions", type=int, default=4)
    args = parser.parse_args()
    result, stats = asyncio.run(search(args.task, args.seed, args.policy, args.expansions))
    print(f"solved: {result.solved}")
    print(f"best path: {' -> '.join(result.best_texts) or '(root)'}")
    print(
        f"nodes: {len(result.tree)}, LLM calls: {result.stats.llm_calls}, pages restored by replay: {stats['replays']}"
    )


if __name__ == "__main__":
    main()
