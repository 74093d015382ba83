"""Any OpenSpiel game as an `Environment`: turn-based, deterministic, perfect or imperfect information.

States are `pyspiel.State` objects; actions are OpenSpiel's integer action ids. Stepping clones
through `State.child`, so the state handed in is never mutated, and it is cheap enough (a few
microseconds) for MCTS rollouts to call `step_now` directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyspiel

from treeagent.environments.base import Capabilities, Environment, InvalidAction, Step, Task

__all__ = ["GameError", "OpenSpielEnv", "game_task", "known_games"]

Move = int | str


class GameError(ValueError):
    """A game that cannot be loaded or played here (unknown name, bad parameters, chance, ...)."""


def known_games() -> list[str]:
    """The names `pyspiel.load_game` accepts."""
    return sorted(pyspiel.registered_names())


def game_task(name: str, moves: Sequence[Move] = (), params: Mapping[str, Any] | None = None) -> Task:
    """A task that starts `name` after `moves` (action ids or their text, e.g. "x3" or "e4")."""
    tail = " ".join(str(m) for m in moves)
    data: dict[str, Any] = {"game": name, "moves": list(moves)}
    if params:
        data["params"] = dict(params)
    suffix = "".join(f",{k}={v}" for k, v in sorted((params or {}).items()))
    return Task(
        id=f"{name}{suffix}:{tail}" if tail else f"{name}{suffix}",
        prompt=f"Play {name} from the position shown and win.",
        data=data,
    )


def _load(name: str, params: Mapping[str, Any] | None) -> Any:
    if name not in pyspiel.registered_names():
        close = difflib.get_close_matches(name, pyspiel.registered_names(), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise GameError(
            f"unknown OpenSpiel game {name!r}.{hint} `treeagent.environments.games.known_games()` lists all names."
        )
    params = _checked_params(name, params or {})
    try:
        game = pyspiel.load_game(name, params)
    except pyspiel.SpielError as exc:
        raise GameError(f"cannot load {name!r} with parameters {params}: {exc}") from None
    kind = game.get_type()
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise GameError(f"{name!r} has simultaneous moves; only turn-based games are supported yet.")
    if kind.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC:
        raise GameError(f"{name!r} has chance nodes (dice, cards); only deterministic games are supported yet.")
    return game


def _checked_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters checked against the game's specification before OpenSpiel sees them.

    OpenSpiel reports a bad parameter by printing to stderr and raising; checking first gives one
    clean error naming what the game accepts. Integers are accepted for float parameters.
    """
    if not params:
        return {}
    spec = next((g.parameter_specification for g in pyspiel.registered_games() if g.short_name == name), None)
    if spec is None:  # no specification to check against: let OpenSpiel judge
        return dict(params)
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if key not in spec:
            accepted = ", ".join(f"{k} (default {v!r})" for k, v in sorted(spec.items())) or "none"
            raise GameError(f"{name!r} has no parameter {key!r}; it accepts: {accepted}")
        kind = type(spec[key])
        if kind is float and type(value) is int:
            value = float(value)
        if type(value) is not kind:
            raise GameError(
                f"{name!r} parameter {key!r} must be {kind.__name__} (default {spec[key]!r}), got {value!r}"
            )
        checked[key] = value
    return checked


class OpenSpielEnv(Environment[Any, int]):
    """One OpenSpiel game. Tasks may pick a start position (`moves`) but not another game.

    `capabilities.players` is the game's player count, so it is set per instance. Returns at a
    terminal state are the game's returns scaled into [-1, 1]; a one-player game instead gets a
    terminal reward in [0, 1] (its return rescaled from the game's utility range) and no `to_play`.
    """

    name = "open_spiel"

    def __init__(self, game: str, params: Mapping[str, Any] | None = None) -> None:
        self.game_name = game
        self.params: dict[str, Any] = dict(params or {})
        self.game = _load(game, self.params)
        # Per instance (shadowing the class attribute): the player count depends on the game.
        self.capabilities = Capabilities(  # type: ignore[misc]
            deterministic=True, cheap_clone=True, players=self.game.num_players()
        )
        low, high = self.game.min_utility(), self.game.max_utility()
        self._scale = 1.0 / max(abs(low), abs(high), 1.0)
        self._single = self.game.num_players() == 1
        self._low, self._span = low, (high - low) or 1.0

    @classmethod
    def from_task(cls, task: Task) -> OpenSpielEnv:
        """The environment for the game a task names."""
        name = task.data.get("game")
        if not isinstance(name, str):
            raise GameError(f"task {task.id!r} names no game: put its name in data['game'].")
        return cls(name, task.data.get("params"))

    # -- the contract -------------------------------------------------------------------------

    async def reset(self, task: Task) -> Step[Any]:
        name = task.data.get("game", self.game_name)
        params = dict(task.data.get("params") or {})
        if name != self.game_name or (params and params != self.params):
            raise GameError(
                f"task {task.id!r} is for {name!r} {params or ''}, but this environment plays "
                f"{self.game_name!r} {self.params or ''}; make one with OpenSpielEnv.from_task(task)."
            )
        state = self.game.new_initial_state()
        for i, move in enumerate(task.data.get("moves") or ()):
            if state.is_terminal():
                raise GameError(f"task {task.id!r}: the game is over before move {i + 1} ({move!r}).")
            try:
                action = self.parse_action(state, move)
            except InvalidAction as exc:
                raise GameError(f"task {task.id!r}, move {i + 1}: {exc}") from None
            state.apply_action(action)
        return self._step(state, str(state))

    async def step(self, state: Any, action: int) -> Step[Any]:
        return self.step_now(state, action)

    def step_now(self, state: Any, action: int) -> Step[Any]:
        # `in legal_actions()` costs about as much as apply_action_with_legality_check and, unlike
        # it, does not make OpenSpiel print the whole serialised state to stderr on a bad action.
        if action not in state.legal_actions():
            raise InvalidAction(self._illegal(state, action))
        player = state.current_player()
        try:
            child = state.child(action)
        except TypeError:  # 2.0 == 2 passes the membership test, but pyspiel wants an integer
            raise InvalidAction(f"an OpenSpiel action is an integer id, not {action!r}") from None
        text = state.action_to_string(player, action)
        if child.is_terminal():
            return self._terminal(child, text)
        return Step(child, text, 0.0, False, None if self._single else child.current_player())

    def advance(self, state: Any, action: int) -> Step[Any]:
        """`step_now` for rollouts: the action comes from `legal_actions`, so no check and no text."""
        child = state.child(action)
        if child.is_terminal():
            return self._terminal(child, "")
        return Step(child, "", 0.0, False, None if self._single else child.current_player())

    def legal_actions(self, state: Any) -> list[int]:
        return state.legal_actions()

    def render(self, state: Any) -> str:
        return str(state)

    def describe(self, task: Task) -> str:
        return task.prompt or f"Play {self.game_name} and win."

    def encode_action(self, action: int) -> int:
        return int(action)

    def decode_action(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise InvalidAction(f"an OpenSpiel action is an integer id, not {data!r}")
        try:
            return int(data)
        except ValueError:
            raise InvalidAction(
                f"{data!r} is not an action id; use OpenSpielEnv.parse_action(state, text) for move text"
            ) from None

    def action_text(self, action: int, state: Any | None = None) -> str:
        """The move's name in `state` ("x3", "Nf3"); without a state only the id, as names depend on it."""
        if state is None or state.is_terminal():
            return str(action)
        return str(state.action_to_string(state.current_player(), action))

    # -- helpers that need the state ------------------------------------------------------------

    def action_text_in(self, state: Any, action: int) -> str:
        """The action as the player to move in `state` would name it (e.g. "x3", "Nf3")."""
        return self.action_text(action, state)

    def legal_action_texts(self, state: Any) -> dict[str, int]:
        """Each legal action's text, mapped to its id (for prompts and for parsing model output)."""
        player = state.current_player()
        return {state.action_to_string(player, a): a for a in state.legal_actions()}

    def parse_action(self, state: Any, move: Move) -> int:
        """A legal action id from an id or a move's text; `InvalidAction` naming the legal moves if not."""
        if isinstance(move, bool):
            raise InvalidAction(f"{move!r} is not a move")
        legal = state.legal_actions()
        if isinstance(move, int):
            if move in legal:
                return move
            raise InvalidAction(self._illegal(state, move))
        if not isinstance(move, str):
            raise InvalidAction(f"a move is an action id or its text, not {move!r}")
        texts = self.legal_action_texts(state)
        text = move.strip()
        if text in texts:
            return texts[text]
        folded = [a for t, a in texts.items() if t.lower() == text.lower()]
        if len(folded) == 1:
            return folded[0]
        if text.lstrip("-").isdigit() and int(text) in legal:
            return int(text)
        raise InvalidAction(self._illegal(state, move))

    def _illegal(self, state: Any, action: object) -> str:
        if state.is_terminal():
            return f"no move is legal: the game is over ({action!r} given)"
        moves = _preview(self.legal_action_texts(state).items())
        return f"{action!r} is not a legal move here; legal moves (text=id): {moves}"

    def _step(self, state: Any, observation: str) -> Step[Any]:
        if state.is_terminal():
            return self._terminal(state, observation)
        return Step(state, observation, to_play=None if self._single else state.current_player())

    def _terminal(self, state: Any, observation: str) -> Step[Any]:
        """Multi-player: returns scaled into [-1, 1]. One player: a reward in [0, 1], as the contract says."""
        if self._single:
            reward = (state.returns()[0] - self._low) / self._span
            return Step(state, observation, reward, True)
        scale = self._scale
        return Step(state, observation, 0.0, True, None, tuple(r * scale for r in state.returns()))


def _preview(items: Iterable[tuple[str, int]], limit: int = 20) -> str:
    listed = [f"{t}={a}" for t, a in items]
    more = f" ... ({len(listed) - limit} more)" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more
