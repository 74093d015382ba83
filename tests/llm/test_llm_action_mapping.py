"""A model's move text becomes the environment's action in the state it was written for."""

from __future__ import annotations

import pytest

from treeagent.agents.base import NodeView
from treeagent.agents.llm_policy import LLMPolicy
from treeagent.agents.prompts import DEFAULT_TEMPLATE
from treeagent.environments.base import InvalidAction
from treeagent.environments.games.game24 import Game24Env, game24_task
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task


async def _view(env: object, task: object) -> NodeView:
    step = await env.reset(task)  # type: ignore[attr-defined]
    return NodeView(task=task, env=env, step=step, depth=0)  # type: ignore[arg-type]


async def test_openspiel_move_names_map_to_action_ids() -> None:
    env = OpenSpielEnv("connect_four")
    view = await _view(env, game_task("connect_four", [3]))  # o to move
    assert LLMPolicy._to_env_action(view, "o4") == 4
    assert LLMPolicy._to_env_action(view, " O0 ") == 0
    with pytest.raises(InvalidAction, match="not a legal move"):
        LLMPolicy._to_env_action(view, "x4")  # the other side's name for the move


async def test_game24_text_is_parsed_and_matched_to_a_legal_move() -> None:
    env = Game24Env()
    view = await _view(env, game24_task([4, 6, 1, 1]))
    action = LLMPolicy._to_env_action(view, "4*6=24")
    assert action in env.legal_actions(view.state)
    with pytest.raises(InvalidAction):
        LLMPolicy._to_env_action(view, "7 * 7 = 49")


async def test_prompts_name_legal_moves_as_the_game_does() -> None:
    env = OpenSpielEnv("tic_tac_toe")
    view = await _view(env, game_task("tic_tac_toe", [4]))
    prompt = "\n".join(str(m) for m in DEFAULT_TEMPLATE.propose_messages(view))
    assert "o(0,0)" in prompt
