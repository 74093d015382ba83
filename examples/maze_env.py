"""A new environment in one small class: a grid maze, searched by every controller unchanged.

    python examples/maze_env.py
    treeagent run examples/maze_env.py:MazeEnv --task-json '{"id": "maze"}' -c best_first

The state is the agent's position (an immutable tuple), so `step` never mutates its input. A
second small class, `CloserIsBetter`, is an evaluator: it scores a node by its distance to the goal.
"""

from __future__ import annotations

import asyncio

from treeagent.agents.base import NodeView
from treeagent.agents.heuristics import UniformPolicy
from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, Task
from treeagent.search import DFSDT, MCTS, Beam, BestFirst, Budget, Controller

DEFAULT_MAZE = (
    "S.#....",
    ".##.##.",
    "...#...",
    "##...#G",
)
MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
Position = tuple[int, int]


class MazeEnv(Environment[Position, str]):
    """Walk from S to G; reward 1 on reaching G. Task data may give its own "maze" rows."""

    name = "maze"
    capabilities = Capabilities(deterministic=True, cheap_clone=True)

    def __init__(self) -> None:
        self.rows: tuple[str, ...] = DEFAULT_MAZE

    async def reset(self, task: Task) -> Step[Position]:
        self.rows = tuple(task.data.get("maze", DEFAULT_MAZE))
        return Step(self.find("S"), observation=self.render(self.find("S")))

    async def step(self, state: Position, action: str) -> Step[Position]:
        return self.step_now(state, action)

    def step_now(self, state: Position, action: str) -> Step[Position]:
        if action not in self.legal_actions(state):
            raise InvalidAction(f"cannot move {action!r} from {state}; legal: {self.legal_actions(state)}")
        dr, dc = MOVES[action]
        new = (state[0] + dr, state[1] + dc)
        goal = self.rows[new[0]][new[1]] == "G"
        return Step(new, observation=self.render(new), reward=1.0 if goal else 0.0, terminal=goal)

    def legal_actions(self, state: Position) -> list[str]:
        rows = self.rows
        return [
            name
            for name, (dr, dc) in MOVES.items()
            if 0 <= state[0] + dr < len(rows)
            and 0 <= state[1] + dc < len(rows[0])
            and rows[state[0] + dr][state[1] + dc] != "#"
        ]

    def render(self, state: Position) -> str:
        return "\n".join(
            "".join("A" if (r, c) == state else ch for c, ch in enumerate(row)) for r, row in enumerate(self.rows)
        )

    def find(self, mark: str) -> Position:
        return next((r, c) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch == mark)


class CloserIsBetter:
    """An evaluator: 1 at the goal, falling with the Manhattan distance to it."""

    async def value(self, view: NodeView) -> float:
        env = view.env
        assert isinstance(env, MazeEnv)
        (r, c), (gr, gc) = view.state, env.find("G")
        return 1.0 - (abs(r - gr) + abs(c - gc)) / (len(env.rows) + len(env.rows[0]))


def controllers() -> list[Controller]:
    """The four controllers, unchanged, on this environment (DFSDT blind, the others guided)."""
    return [
        BestFirst(UniformPolicy(), CloserIsBetter(), branching=4, max_depth=20, budget=Budget(max_expansions=200)),
        DFSDT(UniformPolicy(), width=4, max_depth=14, budget=Budget(max_expansions=5000)),
        Beam(UniformPolicy(), CloserIsBetter(), width=8, expansions_per_beam=4, max_depth=20),
        MCTS(UniformPolicy(), CloserIsBetter(), simulations=3000, max_depth=20),
    ]


async def main() -> None:
    env, task = MazeEnv(), Task(id="maze")
    for controller in controllers():
        result = await controller.run(env, task)
        print(
            f"{controller.name:>10}: solved={result.solved} in {result.stats.expansions} expansions: "
            f"{' '.join(result.best_texts)}"
        )


if __name__ == "__main__":
    asyncio.run(main())
