"""Coding agents: program-writing and revision policies, pass-rate and self-judging evaluators,
reflections, and execution feedback in words (RethinkMCTS)."""

from treeagent.agents.coding.evaluator import CodeJudgeEvaluator, PassRateEvaluator, pass_rate_value
from treeagent.agents.coding.feedback import verbal_feedback, verbalise_failure
from treeagent.agents.coding.policy import GREEDY_SAMPLING, PLAN_SAMPLING, PROGRAM_SAMPLING, CodePolicy
from treeagent.agents.coding.prompts import DEFAULT_PROMPTS, CodePrompts
from treeagent.agents.coding.reflection import CodeReflector

__all__ = [
    "DEFAULT_PROMPTS",
    "GREEDY_SAMPLING",
    "PLAN_SAMPLING",
    "PROGRAM_SAMPLING",
    "CodeJudgeEvaluator",
    "CodePolicy",
    "CodePrompts",
    "CodeReflector",
    "PassRateEvaluator",
    "pass_rate_value",
    "verbal_feedback",
    "verbalise_failure",
]
