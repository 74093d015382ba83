"""treeagent: LLM agents that search instead of guess.

The public API in one place. A search is a controller (`BestFirst`, `DFSDT`, `MCTS`, `Beam`) run
on an `Environment` and a `Task`, with a policy that proposes actions, an evaluator that scores
nodes and a `Budget`; it returns a `SearchResult`. `CONTROLLERS` and the other tables of
`treeagent.registry` name the recipes every command reads; `register_controller` and
`register_environment` add your own.
"""

from treeagent.agents.base import (
    BudgetExhausted,
    Evaluator,
    NodeView,
    Policy,
    Proposal,
    Reflector,
    SearchStop,
    TrajectoryStep,
    Usage,
    UsageSink,
)
from treeagent.agents.heuristics import EnvReward, RandomRollout, ScriptedPolicy, UniformPolicy, Weighted
from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, StepError, Task
from treeagent.registry import CONTROLLERS, register_controller, register_environment
from treeagent.search import (
    DFSDT,
    MCTS,
    Beam,
    BestFirst,
    Budget,
    Controller,
    Node,
    SearchResult,
    Stats,
    Status,
    TraceError,
    Tree,
    best_child,
)

_CODING = ("solve_code", "asolve_code", "CodeSolution")


def __getattr__(name: str) -> object:
    """`treeagent.solve_code` and friends, imported on first use (the coding stack takes ~0.6 s)."""
    if name in _CODING:
        import treeagent.coding as coding

        return getattr(coding, name)
    raise AttributeError(f"module 'treeagent' has no attribute {name!r}")


__all__ = [
    "CONTROLLERS",
    "DFSDT",
    "MCTS",
    "Beam",
    "BestFirst",
    "Budget",
    "BudgetExhausted",
    "Capabilities",
    "CodeSolution",
    "Controller",
    "EnvReward",
    "Environment",
    "Evaluator",
    "InvalidAction",
    "Node",
    "NodeView",
    "Policy",
    "Proposal",
    "RandomRollout",
    "Reflector",
    "ScriptedPolicy",
    "SearchResult",
    "SearchStop",
    "Stats",
    "Status",
    "Step",
    "StepError",
    "Task",
    "TraceError",
    "TrajectoryStep",
    "Tree",
    "UniformPolicy",
    "Usage",
    "UsageSink",
    "Weighted",
    "asolve_code",
    "best_child",
    "register_controller",
    "register_environment",
    "solve_code",
]
