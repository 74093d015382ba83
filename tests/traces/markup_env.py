"""A small environment whose actions and observations are markup (as a web page's are), for
checking that the viewer shows such text verbatim and never runs it."""

from __future__ import annotations

from treeagent.environments.base import Capabilities, Environment, Step, Task

INJECTION = "</script><script>window.injected = 1</script><img src=x onerror='window.injected = 2'>"
ACTIONS = ("<b>bold</b>", INJECTION, "plain & simple")


class MarkupEnv(Environment[tuple[str, ...], str]):
    """Three moves deep; every path is solved, and each observation echoes the path as HTML."""

    name = "markup"
    capabilities = Capabilities(deterministic=True, cheap_clone=True)

    async def reset(self, task: Task) -> Step[tuple[str, ...]]:
        return Step((), observation="<html><body>start</body></html>")

    async def step(self, state: tuple[str, ...], action: str) -> Step[tuple[str, ...]]:
        return self.step_now(state, action)

    def step_now(self, state: tuple[str, ...], action: str) -> Step[tuple[str, ...]]:
        new = (*state, action)
        done = len(new) == 2
        return Step(new, observation=f"<p>{' | '.join(new)}</p>", reward=1.0 if done else 0.0, terminal=done)

    def legal_actions(self, state: tuple[str, ...]) -> list[str]:
        return list(ACTIONS)

    def render(self, state: tuple[str, ...]) -> str:
        return f"<p>{' | '.join(state)}</p>"
