"""The code environment: programming problems with public tests the agent sees and hidden tests
only the final judge runs. Sources: HumanEval, a user's JSONL file, a Python call."""

from treeagent.environments.code.env import CodeAction, CodeEnv, CodeState, TestFailure, task_fields
from treeagent.environments.code.examples import docstring_tests
from treeagent.environments.code.judge import HiddenVerdict, grade_hidden
from treeagent.environments.code.problem import CodeProblem, HiddenTests, ProblemError, make_problem
from treeagent.environments.code.program import assemble, candidate_view, extract_code
from treeagent.environments.code.sources import (
    load_humaneval,
    load_jsonl,
    load_problems,
    problem_from_call,
    resolve_problem,
)

__all__ = [
    "CodeAction",
    "CodeEnv",
    "CodeProblem",
    "CodeState",
    "HiddenTests",
    "HiddenVerdict",
    "ProblemError",
    "TestFailure",
    "assemble",
    "candidate_view",
    "docstring_tests",
    "extract_code",
    "grade_hidden",
    "load_humaneval",
    "load_jsonl",
    "load_problems",
    "make_problem",
    "problem_from_call",
    "resolve_problem",
    "task_fields",
]
