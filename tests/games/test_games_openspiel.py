"""OpenSpielEnv against the Environment contract: purity, legality, returns, bad input."""

from __future__ import annotations

import json
import random

import pytest

pyspiel = pytest.importorskip("pyspiel")

from treeagent.environments.base import Environment, InvalidAction  # noqa: E402
from treeagent.environments.games import GameError, OpenSpielEnv, game_task, known_games  # noqa: E402

# x plays 3, o plays 3, ... : the centre column is full after six moves.
FULL_CENTRE = (3, 3, 3, 3, 3, 3)


@pytest.fixture(scope="module")
def c4() -> OpenSpielEnv:
    return OpenSpielEnv("connect_four")


def test_capabilities_follow_the_game_and_leave_the_class_alone() -> None:
    c4, cliff = OpenSpielEnv("connect_four"), OpenSpielEnv("cliff_walking")
    assert (c4.capabilities.players, cliff.capabilities.players) == (2, 1)
    assert c4.capabilities.deterministic and c4.capabilities.cheap_clone
    assert OpenSpielEnv.capabilities.players == 1 and Environment.capabilities.players == 1


async def test_reset_plays_moves_given_as_ids_or_text(c4: OpenSpielEnv) -> None:
    by_id = await c4.reset(game_task("connect_four", [3, 4, 3]))
    by_text = await c4.reset(game_task("connect_four", ["x3", "o4", "X3"]))
    assert by_id.state.history() == by_text.state.history() == [3, 4, 3]
    assert by_id.to_play == 1 and not by_id.terminal and by_id.returns is None
    assert by_id.observation == str(by_id.state) == c4.render(by_id.state)


async def test_step_now_never_mutates_and_matches_step(c4: OpenSpielEnv) -> None:
    root = (await c4.reset(game_task("connect_four", [3]))).state
    before = (root.history(), str(root))
    first = c4.step_now(root, 4)
    second = await c4.step(root, 4)
    assert (root.history(), str(root)) == before
    assert first.state.history() == second.state.history() == [3, 4]
    assert first.state is not root
    assert first.observation == "o4" and first.to_play == 0


async def test_advance_is_step_now_without_the_text(c4: OpenSpielEnv) -> None:
    state = (await c4.reset(game_task("connect_four", [0, 1, 0, 1, 0, 1]))).state
    for action in c4.legal_actions(state):
        fast, full = c4.advance(state, action), c4.step_now(state, action)
        assert fast.state.history() == full.state.history() == [0, 1, 0, 1, 0, 1, action]
        assert (fast.terminal, fast.to_play, fast.returns) == (full.terminal, full.to_play, full.returns)
        assert fast.observation == "" and full.observation == f"x{action}"
    assert state.history() == [0, 1, 0, 1, 0, 1]


async def test_illegal_actions_raise_invalid_action_naming_legal_moves(c4: OpenSpielEnv) -> None:
    state = (await c4.reset(game_task("connect_four", FULL_CENTRE))).state
    for bad in (3, 99, -1, "x3", None):
        with pytest.raises(InvalidAction, match="not a legal move") as info:
            c4.step_now(state, bad)  # type: ignore[arg-type]
        assert "x2=2" in str(info.value)
    with pytest.raises(InvalidAction, match="integer id"):
        c4.step_now(state, 2.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidAction, match="legal moves"):
        c4.parse_action(state, "x3")
    with pytest.raises(InvalidAction, match="not a move"):
        c4.parse_action(state, True)


async def test_a_won_game_ends_with_zero_sum_returns(c4: OpenSpielEnv) -> None:
    # x stacks column 0 while o stacks column 1: x's fourth piece wins.
    state = (await c4.reset(game_task("connect_four", [0, 1, 0, 1, 0, 1]))).state
    step = c4.step_now(state, 0)
    assert step.terminal and step.to_play is None and step.returns == (1.0, -1.0)
    assert c4.legal_actions(step.state) == []
    with pytest.raises(InvalidAction, match="game is over"):
        c4.step_now(step.state, 2)


@pytest.mark.parametrize(("game", "params"), [("tic_tac_toe", None), ("hex", {"board_size": 5}), ("chess", None)])
async def test_random_playouts_reach_valid_terminals(game: str, params: dict[str, int] | None) -> None:
    env = OpenSpielEnv(game, params)
    rng = random.Random(0)
    for _ in range(3):
        step = await env.reset(game_task(game, params=params))
        plies = 0
        while not step.terminal and plies < 400:
            assert step.to_play == step.state.current_player()
            legal = env.legal_actions(step.state)
            step = env.step_now(step.state, legal[rng.randrange(len(legal))])
            plies += 1
        if step.terminal:
            assert step.returns is not None and len(step.returns) == 2
            assert sum(step.returns) == pytest.approx(0.0)
            assert all(-1.0 <= r <= 1.0 for r in step.returns)


async def test_returns_beyond_one_are_scaled_into_range() -> None:
    env = OpenSpielEnv("battleship")  # utilities in [-5, 5]
    rng = random.Random(1)
    step = await env.reset(game_task("battleship"))
    while not step.terminal:
        legal = env.legal_actions(step.state)
        step = env.step_now(step.state, legal[rng.randrange(len(legal))])
    raw = step.state.returns()
    assert step.returns == pytest.approx(tuple(r / 5.0 for r in raw))


async def test_one_player_games_get_a_reward_in_unit_range_and_no_returns() -> None:
    env = OpenSpielEnv("cliff_walking", {"horizon": 12})
    step = await env.reset(game_task("cliff_walking", params={"horizon": 12}))
    assert step.to_play is None
    rng = random.Random(2)
    while not step.terminal:
        assert step.to_play is None
        legal = env.legal_actions(step.state)
        step = env.step_now(step.state, legal[rng.randrange(len(legal))])
    assert step.returns is None and 0.0 <= step.reward <= 1.0
    game = pyspiel.load_game("cliff_walking", {"horizon": 12})
    low, high = game.min_utility(), game.max_utility()
    assert step.reward == pytest.approx((step.state.returns()[0] - low) / (high - low))


def test_unknown_game_suggests_close_names() -> None:
    with pytest.raises(GameError, match="connect_four"):
        OpenSpielEnv("conect_four")
    with pytest.raises(GameError, match="unknown OpenSpiel game"):
        OpenSpielEnv("no such game at all")
    assert "connect_four" in known_games() and "tic_tac_toe" in known_games()


def test_bad_parameters_name_the_game() -> None:
    with pytest.raises(GameError, match=r"no parameter 'bogus'; it accepts: columns .*rows"):
        OpenSpielEnv("connect_four", {"bogus": 3})
    with pytest.raises(GameError, match="'rows' must be int"):
        OpenSpielEnv("connect_four", {"rows": "six"})


@pytest.mark.parametrize(
    ("game", "word"), [("pig", "chance"), ("backgammon", "chance"), ("matrix_rps", "simultaneous")]
)
def test_chance_and_simultaneous_games_are_refused(game: str, word: str) -> None:
    with pytest.raises(GameError, match=word):
        OpenSpielEnv(game)


async def test_tasks_for_another_game_or_bad_moves_are_refused(c4: OpenSpielEnv) -> None:
    with pytest.raises(GameError, match="from_task"):
        await c4.reset(game_task("tic_tac_toe"))
    with pytest.raises(GameError, match="move 2"):
        await c4.reset(game_task("connect_four", [3, "nonsense"]))
    with pytest.raises(GameError, match="game is over before move 8"):
        await c4.reset(game_task("connect_four", [0, 1, 0, 1, 0, 1, 0, 1]))
    with pytest.raises(GameError, match="names no game"):
        OpenSpielEnv.from_task(game_task("connect_four").model_copy(update={"data": {}}))
    small = OpenSpielEnv.from_task(game_task("connect_four", params={"rows": 5}))
    assert small.game.get_parameters()["rows"] == 5
    with pytest.raises(GameError, match="this environment plays"):
        await c4.reset(game_task("connect_four", params={"rows": 5}))


async def test_actions_round_trip_through_json_and_text(c4: OpenSpielEnv) -> None:
    state = (await c4.reset(game_task("connect_four", [3]))).state
    for action in c4.legal_actions(state):
        assert c4.decode_action(json.loads(json.dumps(c4.encode_action(action)))) == action
        text = c4.action_text(action, state)
        assert text == c4.action_text_in(state, action) == f"o{action}"
        assert c4.parse_action(state, text) == action
        assert c4.parse_action(state, str(action)) == action
    assert c4.action_text(5) == "5"
    for bad in (True, 1.5, "x3", None):
        with pytest.raises(InvalidAction):
            c4.decode_action(bad)


async def test_chess_moves_by_their_san_names() -> None:
    env = OpenSpielEnv("chess")
    step = await env.reset(game_task("chess", ["e4", "e5", "Nf3"]))
    assert step.to_play == 0  # OpenSpiel's chess numbers black 0 and white 1
    assert "Nc6" in env.legal_action_texts(step.state)
    nc6 = env.parse_action(step.state, "Nc6")
    assert env.step_now(step.state, nc6).observation == "Nc6"


def test_game_task_names_the_position() -> None:
    task = game_task("connect_four", [3, "o4"], params={"rows": 5})
    assert task.id == "connect_four,rows=5:3 o4"
    assert task.data == {"game": "connect_four", "moves": [3, "o4"], "params": {"rows": 5}}
    assert game_task("tic_tac_toe").id == "tic_tac_toe"
