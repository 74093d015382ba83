"""Prompt layout: shared part first (task, trajectory, state), varying part last; env overrides."""

from __future__ import annotations

from treeagent.agents.base import NodeView, TrajectoryStep
from treeagent.agents.prompts import DEFAULT_TEMPLATE, GIVE_UP, PromptTemplate, template_for
from treeagent.environments.games.game24 import Game24Env, game24_task


async def _view(tried: tuple[str, ...] = (), lessons: tuple[str, ...] = ()) -> NodeView:
    env = Game24Env()
    task = game24_task([4, 9, 10, 13])
    root = await env.reset(task)
    step = await env.step(root.state, "13 - 9 = 4")
    path = [TrajectoryStep("13 - 9 = 4", "13 - 9 = 4", step.observation)]
    return NodeView(task=task, env=env, step=step, depth=1, trajectory_source=path, tried=tried, lessons=lessons)


async def test_sections_run_from_shared_to_varying() -> None:
    view = await _view(tried=("4 * 4 = 16",), lessons=("Multiply early.",))
    text = DEFAULT_TEMPLATE.propose_messages(view, allow_give_up=True)[-1]["content"]
    order = [
        text.index("Task:"),
        text.index("Steps so far:"),
        text.index("Current state:"),
        text.index("Legal actions:"),
        text.index("Lessons from earlier"),
        text.index("4 * 4 = 16", text.index("Lessons from earlier")),
        text.index(GIVE_UP),
        text.index(DEFAULT_TEMPLATE.propose),
    ]
    assert order == sorted(order)


async def test_siblings_share_everything_but_the_tail() -> None:
    plain = DEFAULT_TEMPLATE.propose_messages(await _view())
    tried = DEFAULT_TEMPLATE.propose_messages(await _view(tried=("4 * 4 = 16",)))
    judge = DEFAULT_TEMPLATE.evaluate_messages(await _view())
    assert plain[0] == tried[0] == judge[0]  # one system message for every prompt
    context = DEFAULT_TEMPLATE.context(await _view())
    for messages in (plain, tried, judge):
        assert messages[-1]["content"].startswith(context)


async def test_environment_specialises_the_template() -> None:
    view = await _view()
    assert template_for(view) is DEFAULT_TEMPLATE
    custom = PromptTemplate().with_(system="You play the Game of 24.", max_legal_listed=0)
    view.env.prompt_template = custom  # type: ignore[attr-defined]
    assert template_for(view) is custom
    text = custom.propose_messages(view)
    assert text[0]["content"] == "You play the Game of 24." and "Legal actions:" not in text[-1]["content"]
    explicit = PromptTemplate().with_(propose="Move?")
    assert template_for(view, explicit) is explicit


async def test_long_trajectories_are_cut_from_the_front() -> None:
    view = await _view()
    steps = [TrajectoryStep(f"a{i}", f"a{i}", "x" * 5000) for i in range(50)]
    view.trajectory_source = steps
    text = PromptTemplate().with_(max_steps=5, observation_chars=100).context(view)
    assert "(45 earlier steps)" in text and "a49" in text and "a10" not in text
    assert "x" * 101 not in text
