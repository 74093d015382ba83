"""Search: the tree, budgets, traces and the controllers (best-first, DFSDT, MCTS, beam, repeated
sampling)."""

from treeagent.search.beam import Beam
from treeagent.search.best_first import BestFirst
from treeagent.search.budget import Budget, Meter, Stats
from treeagent.search.controller import Controller
from treeagent.search.dfsdt import DFSDT
from treeagent.search.mcts import MCTS, best_child
from treeagent.search.node import Node, Status, Tree
from treeagent.search.result import SearchResult
from treeagent.search.run import SearchRun
from treeagent.search.sampling import RepeatedSampling
from treeagent.search.selection import SelectionFn, puct_score, uct_score
from treeagent.search.trace import ResumeCache, TraceError, TraceWriter, last_run, read_records

__all__ = [
    "DFSDT",
    "MCTS",
    "Beam",
    "BestFirst",
    "Budget",
    "Controller",
    "Meter",
    "Node",
    "RepeatedSampling",
    "ResumeCache",
    "SearchResult",
    "SearchRun",
    "SelectionFn",
    "Stats",
    "Status",
    "TraceError",
    "TraceWriter",
    "Tree",
    "best_child",
    "last_run",
    "puct_score",
    "read_records",
    "uct_score",
]
