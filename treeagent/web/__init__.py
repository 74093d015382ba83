"""Web agents wired together: the controllers over `WebEnv`, the MiniWoB evaluation."""

from treeagent.web.agents import WebSearchConfig, make_controller
from treeagent.web.evaluation import MiniWobSummary, run_miniwob_eval

__all__ = ["MiniWobSummary", "WebSearchConfig", "make_controller", "run_miniwob_eval"]
