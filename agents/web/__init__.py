"""The web agent's prompts and value function (the policy is `LLMPolicy` with `WEB_PROMPT`)."""

from treeagent.agents.web.prompts import WEB_PROMPT, WebPrompt
from treeagent.agents.web.value import TrajectoryJudge, Verdict, stop_judge, verdict_value

__all__ = ["WEB_PROMPT", "TrajectoryJudge", "Verdict", "WebPrompt", "stop_judge", "verdict_value"]
