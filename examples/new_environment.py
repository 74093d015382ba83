"""Plugging in a new environment: one small class, and every controller runs on it unchanged.

    python examples/new_environment.py
    treeagent run examples/new_environment.py:ReachTarget --task-json '{"id": "r", "data": {"target": 29}}' -c mcts

Turn a start number into the target with +1, *2 and *3 in a few moves. The state is an immutable
tuple (number, moves left, target), so `step` never changes the state it is given.
"""

from __future__ import annotations

import asyncio

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.base import Environment, InvalidAction, Step, Task
from treeagent.registry import CONTROLLERS
from treeagent.search import Budget

OPS = {"+1": lambda n: n + 1, "*2": lambda n: n * 2, "*3": lambda n: n * 3}
State = tuple[int, int, int]  # number, moves left, target


class ReachTarget(Environment[State, str]):
    name = "reach_target"

    async def reset(self, task: Task) -> Step[State]:
        data = task.data
        state = (int(data.get("start", 2)), int(data.get("moves", 5)), int(data.get("target", 29)))
        return Step(state, self.render(state))

    async def step(self, state: State, action: str) -> Step[State]:
        if action not in self.legal_actions(state):
            raise InvalidAction(f"{action!r} is not a move here; moves: {', '.join(self.legal_actions(state))}")
        number, left, target = OPS[action](state[0]), state[1] - 1, state[2]
        new = (number, left, target)
        done = number >= target or left == 0
        return Step(new, self.render(new), reward=float(number == target), terminal=done)

    def legal_actions(self, state: State) -> list[str]:
        return list(OPS) if state[1] > 0 and state[0] < state[2] else []

    def render(self, state: State) -> str:
        return f"number {state[0]}, target {state[2]}, {state[1]} moves left"


async def main() -> None:
    task = Task(id="2-to-29", data={"start": 2, "moves": 5, "target": 29})
    knobs = {"dfsdt": {"width": 3}, "beam": {"width": 9, "expansions_per_beam": 3}}  # try all 3 moves
    for name in ("best_first", "dfsdt", "mcts", "beam"):  # the tree searches of the registry
        search = CONTROLLERS[name](
            UniformPolicy(), RandomRollout(n=4), budget=Budget(max_expansions=300), seed=1, **knobs.get(name, {})
        )
        result = await search.run(ReachTarget(), task)
        print(f"{name:>10}: solved={result.solved} after {result.stats.expansions} expansions: {result.best_texts}")


if __name__ == "__main__":
    asyncio.run(main())
