"""Coding solvers: greedy, best-of-N, Reflexion, LATS-style MCTS, RethinkMCTS, CodeTree and
PlanSearch on one budget unit; `solve_code` for one problem, `run_eval` for a benchmark."""

from treeagent.coding.evaluation import EvalSummary, run_eval
from treeagent.coding.solve import CodeSolution, asolve_code, select_answer, solve_code
from treeagent.coding.solvers import DEFAULT_SOLVER, SOLVERS, SolverError, build_solver
from treeagent.runner import ResultsFileError

__all__ = [
    "DEFAULT_SOLVER",
    "SOLVERS",
    "CodeSolution",
    "EvalSummary",
    "ResultsFileError",
    "SolverError",
    "asolve_code",
    "build_solver",
    "run_eval",
    "select_answer",
    "solve_code",
]
