"""Game24Env against the Environment contract: moves, purity, rewards, parsing, bad input."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from fractions import Fraction

import pytest

from treeagent.environments.base import InvalidAction, Task
from treeagent.environments.games.arith import OPS, Combine
from treeagent.environments.games.game24 import Game24Env, Game24State, game24_task

F = Fraction


@pytest.fixture(scope="module")
def env() -> Game24Env:
    return Game24Env()


def state_of(*numbers: Fraction | int, target: int = 24) -> Game24State:
    return Game24State(tuple(sorted(F(n) for n in numbers)), (), F(target))


def naive_moves(numbers: tuple[Fraction, ...]) -> set[Combine]:
    """Every ordered pair of positions with every operator, canonicalised: the set legal_actions must equal."""
    moves = set()
    for i, j in itertools.permutations(range(len(numbers)), 2):
        for op in OPS:
            if op == "/" and numbers[j] == 0:
                continue
            moves.add(Combine.of(numbers[i], op, numbers[j]))
    return moves


async def test_reset_sorts_the_numbers_and_renders_them(env: Game24Env) -> None:
    task = game24_task([13, 4, 10, 9])
    assert task.id == "24:4 9 10 13" and task.data == {"numbers": [13, 4, 10, 9]}
    step = await env.reset(task)
    assert step.state.numbers == (4, 9, 10, 13) and step.state.history == ()
    assert not step.terminal and step.reward == 0.0 and step.to_play is None and step.returns is None
    assert "Remaining numbers: 4 9 10 13" in step.observation
    assert env.capabilities.players == 1 and env.capabilities.cheap_clone


@pytest.mark.parametrize(
    ("numbers", "count"),
    [((1, 2, 3, 4), 36), ((2, 2, 2, 2), 4), ((2, 2, 3, 3), 14), ((0, 5), 5), ((0, 0), 3), ((7,), 0)],
)
def test_legal_actions_are_every_distinct_move_once(env: Game24Env, numbers: tuple[int, ...], count: int) -> None:
    state = state_of(*numbers)
    moves = env.legal_actions(state)
    assert len(moves) == count
    assert len(set(moves)) == len(moves) == len({env.action_key(m) for m in moves})
    assert set(moves) == naive_moves(state.numbers)
    for move in moves:  # every listed move is playable
        env.step_now(state, move)
    moves.clear()  # the caller owns the list: the next call is unaffected
    assert len(env.legal_actions(state)) == count


def test_legal_actions_match_the_naive_enumeration_with_fractions_and_negatives(env: Game24Env) -> None:
    for numbers in [(F(8, 3), F(-2), 3, 3), (F(1, 2), F(1, 2), 0), (5, 5, 5, 1), (F(-1), 1, 0)]:
        state = state_of(*numbers)
        moves = env.legal_actions(state)
        assert len(set(moves)) == len(moves)
        assert set(moves) == naive_moves(state.numbers)


async def test_step_never_mutates_and_records_the_move(env: Game24Env) -> None:
    start = (await env.reset(game24_task([4, 9, 10, 13]))).state
    copy = Game24State(start.numbers, start.history, start.target)
    step = env.step_now(start, Combine.of(10, "-", 4))
    again = await env.step(start, Combine.of(10, "-", 4))
    assert start == copy and step.state == again.state
    assert step.state.numbers == (6, 9, 13)
    assert step.state.history == ("10 - 4 = 6 (left: 6 9 13)",)
    assert step.observation == step.state.history[-1]
    assert not step.terminal and step.reward == 0.0
    with pytest.raises(AttributeError):
        start.numbers = ()  # type: ignore[misc]


async def test_the_last_number_decides_the_reward(env: Game24Env) -> None:
    state = state_of(4, 6)
    won = env.step_now(state, "4 * 6 = 24")
    lost = env.step_now(state, "4 + 6")
    assert won.terminal and won.reward == 1.0 and won.solved and won.state.solved
    assert lost.terminal and lost.reward == 0.0 and not lost.solved
    assert env.legal_actions(won.state) == []
    assert "Solved." in env.render(won.state) and "Not solved" in env.render(lost.state)
    with pytest.raises(InvalidAction, match="game is over"):
        env.step_now(won.state, "24 + 0")
    other = state_of(3, 4, target=7)
    assert env.step_now(other, "3 + 4").reward == 1.0


@pytest.mark.parametrize(
    "text",
    ["4*6=24", "4 * 6", "(4 * 6)", "6 * 4 = 24", "4 x 6 = 24", "4 × 6 = 24 (left: 24)", " 4*6 = 24. "],
)
def test_what_a_model_writes_parses_to_the_canonical_move(env: Game24Env, text: str) -> None:
    assert env.decode_action(text) == Combine.of(6, "*", 4)
    assert env.step_now(state_of(4, 6), text).reward == 1.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "exactly two numbers"),
        ("", "empty"),
        ("4 + 6 + 1", "exactly two numbers"),
        ("4 ** 2", "exactly two numbers"),
        ("__import__('os').system('true')", "exactly two numbers"),
        ("abs(-4) + 2", "exactly two numbers"),
        ("4 * 6 = 25", "is 24, not 25"),
        ("4 / 0", "divides by zero"),
        ("4 + 6 = x", "only numbers"),
    ],
)
def test_bad_text_is_an_invalid_action_with_the_reason(env: Game24Env, text: str, reason: str) -> None:
    with pytest.raises(InvalidAction, match=reason):
        env.step_now(state_of(4, 6, 0, 1), text)


def test_moves_on_missing_numbers_or_by_zero_are_invalid(env: Game24Env) -> None:
    state = state_of(4, 6, 0, 1)
    with pytest.raises(InvalidAction, match="not left; remaining numbers: 0 1 4 6"):
        env.step_now(state, Combine.of(5, "+", 1))
    with pytest.raises(InvalidAction, match="not left"):
        env.step_now(state_of(4, 6), Combine.of(4, "+", 4))  # one 4, used twice
    with pytest.raises(InvalidAction, match="division by zero"):
        env.step_now(state, Combine(F(4), "/", F(0)))
    with pytest.raises(InvalidAction, match="unknown operator '%'"):
        env.step_now(state, Combine(F(4), "%", F(6)))
    with pytest.raises(InvalidAction, match="5 % 1 uses a number that is not left"):
        env.step_now(state, Combine(F(5), "%", F(1)))
    with pytest.raises(InvalidAction, match="not 42"):
        env.step_now(state, 42)  # type: ignore[arg-type]


def test_actions_round_trip_through_json_for_every_move(env: Game24Env) -> None:
    for numbers in [(1, 2, 3, 4), (F(8, 3), F(-2), 3, 3), (F(1, 2), 0, 13)]:
        state = state_of(*numbers)
        for move in env.legal_actions(state):
            wire = json.loads(json.dumps(env.encode_action(move)))
            assert isinstance(wire, str) and wire == env.action_text(move) == str(move)
            assert env.decode_action(wire) == move


def test_fractions_and_negatives_read_back_exactly(env: Game24Env) -> None:
    state = state_of(F(8, 3), 3, F(-2))
    assert str(Combine.of(F(8, 3), "*", 3)) == "3 * (8/3) = 8"
    for text in ["3 * (8/3) = 8", "8/3 * 3", "(8/3) * 3 = 8"]:
        assert env.step_now(state, text).state.numbers == (-2, 8)
    assert env.step_now(state, "3 - -2 = 5").state.numbers == (F(8, 3), 5)
    assert env.step_now(state, "3 / (-2)").state.numbers == (F(-3, 2), F(8, 3))


async def test_render_round_trips_the_remaining_numbers(env: Game24Env) -> None:
    step = await env.reset(game24_task([1, 3, 8, 8]))
    for move in ["8 / 3", "1 - 8/3"]:
        step = env.step_now(step.state, move)
        text = env.render(step.state)
        line = next(ln for ln in text.splitlines() if ln.startswith("Remaining numbers:"))
        assert tuple(Fraction(t) for t in line.split(":", 1)[1].split()) == step.state.numbers
        for i, past in enumerate(step.state.history, 1):
            assert f"{i}. {past}" in text
    assert step.state.numbers == (F(-5, 3), 8)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"numbers": []},
        {"numbers": "1 2 3 4"},
        {"numbers": [1, "x"]},
        {"numbers": [1, True]},
        {"numbers": [None]},
        {"numbers": [1, "1/0"]},
        {"numbers": [4, 6], "target": "twenty-four"},
        {"numbers": [4, 6], "target": None},
    ],
)
async def test_bad_tasks_say_what_is_wrong(env: Game24Env, data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="number"):
        await env.reset(Task(id="bad", data=data))


def test_game24_imports_without_open_spiel() -> None:
    code = (
        "import sys; sys.modules['pyspiel'] = None\n"
        "from treeagent.environments.games.game24 import Game24Env\n"
        "import treeagent.environments.games as g\n"
        "assert g.Game24Env is Game24Env and g.solve24([4, 6]) is not None\n"
        "try:\n    g.OpenSpielEnv\nexcept ImportError as e:\n    print('needs', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "treeagent[games]" in out.stdout
