"""One registry of named recipes: every command, `compare`, the evals and the Python API read it.

A recipe is a name, a one-line summary, its knobs and how to build it. The tables: search
controllers, coding solvers, game players, environments, and the policies and evaluators that
`run` and `compare` pair with a controller. Names are matched by `normalise` everywhere
(`best-first`, `Best_First` and `best_first` are one name); an unknown name is one line that lists
the known ones. A recipe of your own is one call:

    register_controller("wide_beam", Beam, "beam search, nine wide", fixed={"width": 9})
    register_environment("maze", MazeEnv, "my maze; --task-json '{\"id\": ...}'")

after which `treeagent run maze -c wide_beam`, `compare` and the evals take them like the built-ins
(a command line imports them with `module:Class` or from a module your code imports first).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from treeagent.environments.base import Environment, Task
from treeagent.search import DFSDT, MCTS, Beam, BestFirst, Controller
from treeagent.search.knobs import KnobError, check_knobs, controller_knobs
from treeagent.search.react import ReActChain
from treeagent.task_specs import EnvSpecError


def normalise(name: str) -> str:
    """The one spelling of a name: `Best-First` -> `best_first`; `openspiel:GAME` -> `openspiel`."""
    return name.partition(":")[0].strip().lower().replace("-", "_")


class UnknownRecipe(ValueError):
    """A name no table holds; the message lists the names it does hold."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """A named way to build something. Calling the recipe builds it (`CONTROLLERS["mcts"](policy)`)."""

    name: str
    summary: str
    build: Callable[..., Any]
    knobs: str = ""
    needs_llm: bool = False
    #: the class whose constructor's knobs `--set` may set (controllers), and the knobs it fixes
    target: Any = None
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.build(*args, **kwargs)


class Registry(Mapping[str, Recipe]):
    """Recipes of one kind by normalised name, in the order registered."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._recipes: dict[str, Recipe] = {}

    def register(self, recipe: Recipe, *, replace: bool = False) -> Recipe:
        key = normalise(recipe.name)
        if key in self._recipes and not replace:
            raise ValueError(f"a {self.kind} named {recipe.name!r} is already registered (pass replace=True)")
        self._recipes[key] = recipe
        return recipe

    def get_recipe(
        self, name: str, among: tuple[str, ...] | None = None, what: str | None = None, where: str = ""
    ) -> Recipe:
        """The recipe `name` names (only those `among`, if given), or `UnknownRecipe` listing the choices."""
        allowed = list(self._recipes) if among is None else [k for k in map(normalise, among) if k in self._recipes]
        key = normalise(name)
        if key not in allowed:
            known = ", ".join(self._recipes[k].name for k in allowed)
            raise UnknownRecipe(f"unknown {what or self.kind} {name!r}{where}; choose one of: {known}")
        return self._recipes[key]

    def canonical(
        self, name: str, among: tuple[str, ...] | None = None, what: str | None = None, where: str = ""
    ) -> str:
        """The one spelling of `name` (see `get_recipe`)."""
        return normalise(self.get_recipe(name, among, what, where).name)

    def __getitem__(self, name: str) -> Recipe:
        return self.get_recipe(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise(name) in self._recipes

    def __iter__(self) -> Iterator[str]:
        return iter(self._recipes)

    def __len__(self) -> int:
        return len(self._recipes)

    def describe(self) -> str:
        """`name: summary` per recipe, for help texts."""
        return "; ".join(f"{r.name}: {r.summary}" for r in self._recipes.values())


def lazy(path: str) -> Callable[..., Any]:
    """`module:attr`, imported on first call (the coding and games stacks cost time to import)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        module, _, attr = path.partition(":")
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    return call


# --- search controllers -------------------------------------------------------------------------

CONTROLLERS = Registry("controller")


def register_controller(
    name: str,
    cls: type[Controller],
    summary: str,
    *,
    breadth: tuple[str, ...] = (),
    fixed: Mapping[str, Any] | None = None,
    replace: bool = False,
) -> Recipe:
    """A controller class under `name`. `breadth`: the knobs a command's `--width`/`--branching`
    sets (children per expansion, by whatever name the class gives it); `fixed`: knobs this recipe
    pins. Build it as `CONTROLLERS[name](policy, evaluator, width=3, budget=..., **knobs)`."""
    pinned = dict(fixed or {})

    def build(policy: Any, evaluator: Any = None, *, width: int | None = None, **settings: Any) -> Controller:
        wide = {knob: width for knob in breadth} if width is not None else {}
        return cls(policy, evaluator, **{**wide, **settings, **pinned})

    knobs = ", ".join(str(k) for k in controller_knobs(cls).values() if k.name not in pinned)
    recipe = Recipe(name, summary, build, knobs=knobs, target=cls, fixed=pinned)
    return CONTROLLERS.register(recipe, replace=replace)


register_controller("best_first", BestFirst, "expand the best-valued open node next", breadth=("branching",))
register_controller("dfsdt", DFSDT, "depth first, backtrack on failure (ToolLLM's DFSDT)", breadth=("width",))
register_controller("mcts", MCTS, "Monte Carlo tree search, UCT or PUCT", breadth=("children_per_expansion",))
register_controller("beam", Beam, "keep the best `width` nodes per depth", breadth=("width", "expansions_per_beam"))
register_controller("greedy", BestFirst, "one action per step, no branching (the baseline)", fixed={"branching": 1})
register_controller("react", ReActChain, "one chain of actions, restarted on a dead end (ReAct)")


def controller_knob_values(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` checked against controller `name`'s knobs and converted to their types (`KnobError`)."""
    recipe = CONTROLLERS[name]
    pinned = [k for k in values if k in recipe.fixed]
    if pinned:
        raise KnobError(f"{recipe.name} fixes {', '.join(f'{k}={recipe.fixed[k]}' for k in pinned)}")
    return check_knobs(recipe.target, values)


def controller_takes(name: str) -> set[str]:
    """The knob names controller `name` accepts from `--set`."""
    recipe = CONTROLLERS[name]
    return set(controller_knobs(recipe.target)) - set(recipe.fixed)


# --- policies and evaluators (what `run` and `compare` pair a controller with) ------------------

POLICIES = Registry("policy")
EVALUATORS = Registry("evaluator")


def _agent(path: str, *, with_llm: bool = False, **kwargs: Any) -> Callable[..., Any]:
    """`Class(llm, **kwargs)` (or without the model) from `module:Class`, imported when first built;
    keywords given at build time are added (a rollout's `max_steps`)."""
    build = lazy(path)
    return lambda llm=None, **more: build(llm, **kwargs, **more) if with_llm else build(**kwargs, **more)


_ROLLOUTS = _agent("treeagent.agents.heuristics:RandomRollout", n=4)
_SELF_EVALUATION = _agent("treeagent.agents.llm_evaluator:LLMSelfEvaluator", with_llm=True)
POLICIES.register(
    Recipe("uniform", "every legal action alike (no model)", _agent("treeagent.agents.heuristics:UniformPolicy"))
)
_LLM_POLICY = _agent("treeagent.agents.llm_policy:LLMPolicy", with_llm=True)
POLICIES.register(Recipe("llm", "the model proposes actions", _LLM_POLICY, needs_llm=True))
EVALUATORS.register(
    Recipe("auto", "the model when one is used, else rollouts where actions are listed, else reward", _ROLLOUTS)
)
EVALUATORS.register(Recipe("rollout", "mean outcome of 4 random playouts", _ROLLOUTS))
EVALUATORS.register(Recipe("reward", "the environment's reward", _agent("treeagent.agents.heuristics:EnvReward")))
EVALUATORS.register(Recipe("llm", "the model's self-evaluation", _SELF_EVALUATION, needs_llm=True))

#: a game's playouts run to its end (its value is known only there); this only stops a runaway one
GAME_ROLLOUT_STEPS = 1000


def needs_model(policy: str, evaluator: str) -> bool:
    return POLICIES[policy].needs_llm or EVALUATORS[evaluator].needs_llm


def auto_evaluator(env: Environment[Any, Any] | None, model: bool) -> tuple[str, str]:
    """What `--evaluator auto` stands for on `env` (None: not known yet), with a model in use or
    not: the evaluator's name and why it was chosen."""
    if model:
        return "llm", "a model is in use: it scores the nodes"
    if env is None or type(env).legal_actions is not Environment.legal_actions:
        return "rollout", "the environment has legal_actions; use --evaluator reward for speed"
    return "reward", "the environment lists no legal actions to play out at random"


def rollout_steps(env: Environment[Any, Any] | None, max_depth: int | None) -> int:
    """How long a random playout may run: to the end in a game; in a single-player task no deeper
    than the search goes (`max_depth`). A longer walk answers a question the search cannot act on:
    a 1,000-step random walk through a small maze finds the goal from anywhere, every node scores
    1.0 and best-first stops at once; an environment without an end pays 4,000 steps a node."""
    if max_depth is None or (env is not None and env.capabilities.players > 1):
        return GAME_ROLLOUT_STEPS
    return max(1, max_depth)


def search_agents(
    policy: str, evaluator: str, llm: Any = None, *, env: Any = None, max_depth: int | None = None
) -> tuple[Any, Any]:
    """The policy and evaluator named, for `env` searched `max_depth` deep (where known): `auto`
    is chosen by `auto_evaluator`, a rollout runs `rollout_steps` at most."""
    name = normalise(evaluator)
    if name == "auto":
        name = auto_evaluator(env, llm is not None)[0]
    chosen = EVALUATORS[name]
    built = chosen(llm, max_steps=rollout_steps(env, max_depth)) if name == "rollout" else chosen(llm)
    return POLICIES[policy](llm), built


def controller_max_depth(name: str, knobs: Mapping[str, Any]) -> int:
    """How deep controller `name` searches with these `--set` knobs."""
    depth = knobs.get("max_depth")
    return int(depth) if depth is not None else int(CONTROLLERS[name].target.default_max_depth)


#: children per MCTS expansion with a model's policy, unless a knob says otherwise
LLM_CHILDREN = 4


def search_controller(name: str, policy_name: str, policy: Any, evaluator: Any, **settings: Any) -> Controller:
    """Controller `name` as `run` and `compare` build it. MCTS with a model's policy asks for a few
    children per expansion (LATS; a game's uniform policy lists every move, a model cannot), and an
    unbounded MCTS without `simulations` gets 100 expansions."""
    from treeagent.search import Budget

    recipe = CONTROLLERS[name]
    if recipe.target is MCTS:
        budget = settings.get("budget")
        if POLICIES[policy_name].needs_llm:
            settings.setdefault("children_per_expansion", LLM_CHILDREN)
        if (budget is None or not Budget.model_validate(budget).is_bounded()) and "simulations" not in settings:
            settings["budget"] = Budget(max_expansions=100)
    controller: Controller = recipe(policy, evaluator, **settings)
    return controller


# --- coding solvers (built by treeagent.coding.solvers) -----------------------------------------

SOLVERS = Registry("solver")
#: the solver `solve_code`, `treeagent solve` and `treeagent eval` use unless told otherwise
DEFAULT_SOLVER = "test_guided"
_SOLVER_KNOBS = "budget_calls, width (children per expansion), concurrency, seed, max_seconds"

for _name, _summary in (
    ("test_guided", "adaptive: token branches and samples where the tests say they pay, one-token edits at no call"),
    ("pgtd", "PG-TD: MCTS over the program's tokens, rewards from the public tests"),
    ("greedy", "one sample at temperature 0"),
    ("best_of_n", "samples until one passes the public tests"),
    ("reflexion", "one path: test, reflect, revise"),
    ("mcts", "LATS: MCTS over programs and revisions, tests + self-evaluation"),
    ("rethink", "RethinkMCTS: MCTS over plans and programs, verbal test feedback"),
    ("codetree", "CodeTree: strategies, solutions, debugging, ranked by a critic"),
    ("plansearch", "PlanSearch: diverse plans, one program per plan"),
):
    SOLVERS.register(
        Recipe(_name, _summary, lazy(f"treeagent.coding.solvers:_{_name}"), knobs=_SOLVER_KNOBS, needs_llm=True)
    )


# --- game players (treeagent.players runs MCTS; treeagent.agents.games.players needs no controller)

PLAYERS = Registry("player")
_PLAYER_KNOBS = "simulations, exploration, seed, concurrency"


def _player(path: str, *settings: str) -> Callable[..., Any]:
    """`Class(*settings)` from `module:Class`, the settings picked by name from what `play` passes."""
    build = lazy(path)
    return lambda **given: build(*(given[name] for name in settings))


def _uniform_mcts(*, simulations: int, seed: int, **_: Any) -> Any:
    from treeagent.players import uniform_mcts_player

    return uniform_mcts_player(simulations=simulations, seed=seed)


def _llm_player(*, llm: Any, **_: Any) -> Any:
    from treeagent.agents.games import GameLLMPolicy
    from treeagent.agents.games.players import LLMPlayer

    return LLMPlayer(GameLLMPolicy(llm))


def _llm_mcts(*, llm: Any, simulations: int, seed: int, concurrency: int, value_weight: float, **_: Any) -> Any:
    from treeagent.players import llm_mcts_player

    return llm_mcts_player(
        llm, simulations=simulations, seed=seed, concurrency=max(concurrency, 4), value_weight=value_weight
    )


def _internal(*, llm: Any, llm_tokens: int, **_: Any) -> Any:
    from treeagent.agents.games import InternalSearch
    from treeagent.agents.games.players import InternalSearchPlayer

    return InternalSearchPlayer(InternalSearch(llm, max_tokens=llm_tokens))


for _recipe in (
    Recipe(
        "mcts",
        "treeagent's MCTS, uniform policy, random rollouts",
        _player("treeagent.players:MCTSPlayer", "simulations", "exploration", "seed", "concurrency"),
        _PLAYER_KNOBS,
    ),
    Recipe("uniform-mcts", "PUCT MCTS with uniform priors (llm-mcts without the model)", _uniform_mcts, "simulations"),
    Recipe("llm", "the model alone, one request per move", _llm_player, needs_llm=True),
    Recipe("llm-mcts", "PUCT MCTS with the model's priors", _llm_mcts, _PLAYER_KNOBS + ", value_weight", True),
    Recipe("internal", "the model's in-context search", _internal, "llm_tokens", needs_llm=True),
    Recipe(
        "random", "uniformly random legal moves", _player("treeagent.agents.games.players:RandomPlayer", "seed"), "seed"
    ),
    Recipe(
        "openspiel-mcts",
        "OpenSpiel's own Python MCTS bot",
        _player("treeagent.agents.games.players:OpenSpielMCTSPlayer", "simulations", "exploration", "seed"),
        "simulations, exploration, seed",
    ),
):
    PLAYERS.register(_recipe)


# --- environments -------------------------------------------------------------------------------

ENVIRONMENTS = Registry("environment")
#: a recipe's build takes (the text after `NAME:` or None, --task text, --task-json text) -> (env, task)


def register_environment(
    name: str,
    factory: Callable[[], Environment[Any, Any]],
    summary: str,
    *,
    task: Callable[[str], Task] | None = None,
    replace: bool = False,
) -> Recipe:
    """An environment under `name`: `factory()` builds it; its task comes from --task-json, or from
    --task through `task(text)` (default: a task whose id and prompt are the text)."""

    def build(arg: str | None, text: str | None, as_json: str | None) -> tuple[Environment[Any, Any], Task]:
        from treeagent.task_specs import task_from_text

        return factory(), task_from_text(name, text, as_json, task)

    return ENVIRONMENTS.register(Recipe(name, summary, build), replace=replace)


def make(spec: str, task_text: str | None = None, task_json: str | None = None) -> tuple[Environment[Any, Any], Task]:
    """The environment named by `spec` (`game24`, `openspiel:GAME`, a registered name, or a user
    class `module:Class`) and the task for it."""
    head, sep, arg = spec.partition(":")
    if head in ENVIRONMENTS:
        return ENVIRONMENTS[head].build(arg if sep else None, task_text, task_json)
    if sep:
        from treeagent.task_specs import task_from_text, user_env

        return user_env(spec), task_from_text(spec, task_text, task_json, None)
    known = ", ".join([*(r.name for r in ENVIRONMENTS.values()), "module:Class"])
    raise EnvSpecError(f"unknown environment {spec!r}; use one of: {known}")


ENVIRONMENTS.register(Recipe("game24", "the Game of 24; --task '4 9 10 13'", lazy("treeagent.task_specs:game24")))
ENVIRONMENTS.register(
    Recipe(
        "openspiel:GAME",
        "any two-player or single-player OpenSpiel game; --task 'MOVE MOVE ...' to start mid-game",
        lazy("treeagent.task_specs:openspiel"),
    )
)
ENVIRONMENTS.register(
    Recipe(
        "web",
        "a MiniWoB++ page in headless Chromium; --task 'click-button' or 'click-button#SEED' (treeagent web list)",
        lazy("treeagent.task_specs:web"),
    )
)
#: what the command line's help lists: the registered environments and a user's own class
ENVIRONMENT_HELP = "; ".join(
    [
        *(f"{r.name}: {r.summary}" for r in ENVIRONMENTS.values()),
        'module:Class: your own Environment subclass; --task-json \'{"id": ..., "prompt": ..., "data": {...}}\'',
    ]
)
