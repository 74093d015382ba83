"""Web browsing: a Playwright environment over real pages, MiniWoB++ tasks, users' own tasks."""

from treeagent.environments.web.actions import WebAction, click, parse_action, press, select, stop, type_text
from treeagent.environments.web.browser import Browser, BrowserUnavailable
from treeagent.environments.web.env import WebEnv
from treeagent.environments.web.pool import ReplayMismatch, StatePool
from treeagent.environments.web.state import WebState
from treeagent.environments.web.tasks import MINIWOB_TASKS, WebTaskError, miniwob_task, url_task

__all__ = [
    "MINIWOB_TASKS",
    "Browser",
    "BrowserUnavailable",
    "ReplayMismatch",
    "StatePool",
    "WebAction",
    "WebEnv",
    "WebState",
    "WebTaskError",
    "click",
    "miniwob_task",
    "parse_action",
    "press",
    "select",
    "stop",
    "type_text",
    "url_task",
]
