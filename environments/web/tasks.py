"""Web tasks: the MiniWoB++ task types wired here, and a user's own task (URL + goal + check)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from treeagent.environments.base import Task


class WebTaskError(ValueError):
    """An unknown MiniWoB task or a malformed user task; the message says what to use instead."""


@dataclass(frozen=True, slots=True)
class MiniWobSpec:
    name: str
    max_steps: int
    summary: str


#: task types whose pages work with the action set here (no drag, no canvas drawing) and whose
#: problem is fixed by the seed (no dates or wall-clock timing in what is shown).
MINIWOB_TASKS: tuple[MiniWobSpec, ...] = (
    MiniWobSpec("click-button", 1, "click the named button"),
    MiniWobSpec("click-button-sequence", 2, "click two buttons in order"),
    MiniWobSpec("click-checkboxes", 6, "tick the named checkboxes, then submit"),
    MiniWobSpec("click-collapsible-nodelay", 2, "expand a section, click the button in it"),
    MiniWobSpec("click-dialog", 1, "close a dialog"),
    MiniWobSpec("click-dialog-2", 1, "click a named button in a dialog"),
    MiniWobSpec("click-link", 1, "click the named link"),
    MiniWobSpec("click-option", 2, "choose a radio option, then submit"),
    MiniWobSpec("click-tab", 1, "click the named tab"),
    MiniWobSpec("click-tab-2-easy", 2, "open a tab, click a link in it"),
    MiniWobSpec("click-test", 1, "click the one button"),
    MiniWobSpec("click-test-2", 1, "click button ONE"),
    MiniWobSpec("click-widget", 1, "click the widget of a named kind"),
    MiniWobSpec("enter-password", 3, "type a password twice, then submit"),
    MiniWobSpec("enter-text", 2, "type the given text, then submit"),
    MiniWobSpec("enter-text-2", 2, "type the text transformed, then submit"),
    MiniWobSpec("focus-text", 1, "focus the text field"),
    MiniWobSpec("focus-text-2", 1, "focus the named text field"),
    MiniWobSpec("login-user", 3, "type username and password, press login"),
    MiniWobSpec("navigate-tree", 4, "open folders to the named file"),
    MiniWobSpec("choose-list", 2, "select an item in a list, then submit"),
    MiniWobSpec("simple-arithmetic", 2, "type the result of a sum, then submit"),
    MiniWobSpec("simple-algebra", 2, "type the value of x, then submit"),
    MiniWobSpec("find-word", 2, "type the n-th word of a paragraph, then submit"),
    MiniWobSpec("multi-orderings", 5, "fill a form whose fields come in any order"),
    MiniWobSpec("multi-layouts", 5, "fill a form whose layout changes"),
    MiniWobSpec("read-table", 2, "read a value from a table, type it, submit"),
    MiniWobSpec("use-autocomplete-nodelay", 3, "type into an autocomplete field, then submit"),
)
MINIWOB_BY_NAME = {spec.name: spec for spec in MINIWOB_TASKS}


def miniwob_root() -> Path:
    """The `miniwob` wheel's html folder (its task pages live in html/miniwob)."""
    try:
        import miniwob
    except ImportError:
        raise WebTaskError("the miniwob package is not installed: pip install 'treeagent[web]'") from None
    root = Path(miniwob.__file__).parent / "html"
    if not (root / "miniwob").is_dir():
        raise WebTaskError(f"the miniwob wheel has no task pages under {root}; reinstall it")
    return root


def miniwob_task(name: str, seed: int = 0) -> Task:
    """The MiniWoB++ task `name` (e.g. click-button), its problem fixed by `seed`."""
    name = name.removeprefix("miniwob/").removeprefix("miniwob.").removesuffix(".html")
    spec = MINIWOB_BY_NAME.get(name)
    if spec is None:
        if (miniwob_root() / "miniwob" / f"{name}.html").is_file():
            spec = MiniWobSpec(name, 8, "(not wired: may need actions this environment lacks)")
        else:
            known = ", ".join(s.name for s in MINIWOB_TASKS)
            raise WebTaskError(f"unknown MiniWoB task {name!r}; `treeagent web list` shows them: {known}")
    return Task(
        id=f"miniwob/{name}#{seed}",
        prompt="",
        data={"site": "miniwob", "name": name, "seed": seed, "max_steps": spec.max_steps},
    )


def url_task(
    start_url: str, goal: str, *, task_id: str | None = None, success_text: str | None = None, max_steps: int = 10
) -> Task:
    """A user's own task: start at `start_url` and reach `goal`.

    Success is `success_text` appearing on the page, or a check function given to the environment
    (`WebEnv(checks={task_id: fn})`), or, with neither, the model's judgement of `stop(answer)`.
    """
    if not start_url.startswith(("http://", "https://", "file://")):
        raise WebTaskError(f"start URL {start_url!r} must be absolute (http://, https:// or file://)")
    if not goal.strip():
        raise WebTaskError("a web task needs a goal: what should the agent achieve on the page?")
    data: dict[str, object] = {"site": "url", "start_url": start_url, "goal": goal, "max_steps": max_steps}
    if success_text:
        data["success_text"] = success_text
    return Task(id=task_id or start_url, prompt=goal, data=data)
