"""The one registry: every name resolves and builds, every command spells names the same way, an
unknown name is one line listing the known ones (exit 2, no traceback), a user's recipe is one call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.cli.main import app
from treeagent.environments.base import Environment, Step, Task
from treeagent.registry import (
    CONTROLLERS,
    ENVIRONMENTS,
    EVALUATORS,
    PLAYERS,
    POLICIES,
    SOLVERS,
    Recipe,
    Registry,
    UnknownRecipe,
    auto_evaluator,
    make,
    register_controller,
    register_environment,
    search_agents,
)
from treeagent.search import Beam, Budget, Controller
from treeagent.tools.suite import canonical_controller
from treeagent.web.agents import WebSearchConfig

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
PUZZLE = ["run", "game24", "--task", "4 9 10 13", "-b", "expansions=30", "--set", "branching=64"]


def test_every_controller_builds_and_its_breadth_lands_on_its_own_knob() -> None:
    assert list(CONTROLLERS) == ["best_first", "dfsdt", "mcts", "beam", "greedy", "react"]
    breadth = {"best_first": "branching", "dfsdt": "width", "mcts": "children_per_expansion", "beam": "width"}
    for name, recipe in CONTROLLERS.items():
        controller = recipe(UniformPolicy(), RandomRollout(n=1), width=3, budget=Budget(max_expansions=5))
        assert isinstance(controller, Controller) and controller.name == recipe.target.name, name
        if name in breadth:
            assert getattr(controller, breadth[name]) == 3, name
        assert recipe.summary and recipe.knobs, name
    assert CONTROLLERS["greedy"](UniformPolicy(), width=7).branching == 1  # a pinned knob wins


def test_every_solver_player_and_environment_resolves() -> None:
    assert next(iter(SOLVERS)) == "test_guided" and {"greedy", "best_of_n", "pgtd", "mcts"} <= set(SOLVERS)
    import treeagent.coding.solvers as builders

    for name in SOLVERS:  # each name has its builder
        assert callable(getattr(builders, f"_{name}")), name
    assert PLAYERS["random"](seed=1).name == "random"
    assert PLAYERS["MCTS"](simulations=10, exploration=1.0, seed=0, concurrency=1).name == "treeagent-mcts(10)"
    assert [name for name, r in PLAYERS.items() if r.needs_llm] == ["llm", "llm_mcts", "internal"]
    env, task = make("game24", "4 9 10 13")
    assert type(env).__name__ == "Game24Env" and task.data["numbers"] == [4, 9, 10, 13]
    assert {"game24", "openspiel", "web"} <= set(ENVIRONMENTS)
    assert [n for n, r in POLICIES.items() if r.needs_llm] == ["llm"]
    assert [n for n, r in EVALUATORS.items() if r.needs_llm] == ["llm"]


@pytest.mark.parametrize("spelling", ["best-first", "best_first", "Best-First", " BEST_FIRST "])
def test_one_normaliser_for_every_table(spelling: str) -> None:
    assert CONTROLLERS.canonical(spelling) == "best_first"
    assert canonical_controller(spelling) == "best_first"  # tool tasks
    assert WebSearchConfig(controller=spelling).controller == "best_first"  # web
    assert SOLVERS.canonical("Best-Of-N") == "best_of_n" and PLAYERS.canonical("llm_mcts") == "llm_mcts"


def test_best_first_and_best_first_are_one_controller_in_run() -> None:
    outputs = []
    for spelling in ("best-first", "best_first"):
        done = runner.invoke(app, [*PUZZLE, "-c", spelling], env={"COLUMNS": "200"})
        assert done.exit_code == 0, done.output
        outputs.append([line for line in done.output.splitlines() if line.strip().startswith(("best path", "tree"))])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 2


def test_best_first_spellings_pass_web_run_checks_and_an_unknown_one_does_not() -> None:
    # Both spellings get past the controller check to the task check (no browser needed for that).
    for spelling in ("best-first", "best_first"):
        done = runner.invoke(app, ["web", "run", "no-such-task", "-c", spelling])
        assert done.exit_code == 2 and "unknown MiniWoB task 'no-such-task'" in done.output, done.output
    done = runner.invoke(app, ["web", "run", "click-button", "-c", "astar"], env={"COLUMNS": "300"})
    assert done.exit_code == 2 and "unknown controller 'astar'; choose one of: best_first, dfsdt" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*PUZZLE, "-c", "astar"], "unknown controller 'astar'; choose one of: best_first, dfsdt, mcts, beam"),
        ([*PUZZLE, "--policy", "oracle"], "unknown policy 'oracle'; choose one of: uniform, llm"),
        (["run", "maze", "--task", "x"], "unknown environment 'maze'; use one of: game24, openspiel:GAME, web"),
        (["solve", "HumanEval/0", "-s", "magic"], "unknown solver 'magic'; choose one of: test_guided, pgtd"),
        (["eval", "humaneval", "-s", "magic"], "unknown solver 'magic'"),
        (["eval", "bfcl", "--controller", "beam"], "unknown controller 'beam' for tool tasks; choose one of: react"),
        (["eval", "miniwob", "--controller", "astar"], "unknown controller 'astar'"),
        (["play", "tic_tac_toe", "--a", "deep-blue"], "unknown player 'deep-blue'; choose one of: mcts, uniform-mcts"),
        (
            [
                "compare",
                "--env",
                "game24",
                "--controllers",
                "best-first,astar",
                "--budget",
                "expansions=5",
                "--tasks",
                "1",
            ],
            "unknown controller 'astar'",
        ),
        (
            ["compare", "--env", "humaneval", "--controllers", "magic", "--budget", "llm_calls=1", "--limit", "1"],
            "unknown solver 'magic'",
        ),
    ],
)
def test_an_unknown_name_is_one_line_and_exit_code_2(args: list[str], message: str, tmp_path: Path) -> None:
    if args[0] in ("compare", "eval"):
        args = [*args, "--out", str(tmp_path / "out.jsonl")]
    done = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert done.exit_code == 2, done.output
    errors = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unknown_name_in_a_real_process_has_no_traceback() -> None:
    cli = Path(sys.executable).parent / "treeagent"
    done = subprocess.run([str(cli), *PUZZLE, "-c", "nope"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "unknown controller 'nope'" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_compare_takes_either_spelling_and_records_the_canonical_name(tmp_path: Path) -> None:
    out = tmp_path / "cmp.jsonl"
    args = ["compare", "--env", "game24", "--controllers", "best-first,Beam", "--budget", "expansions=3"]
    done = runner.invoke(app, [*args, "--tasks", "4 9 10 13", "--out", str(out)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert sorted(line.split('"controller": "')[1].split('"')[0] for line in out.read_text().splitlines()) == [
        "beam",
        "best_first",
    ]
    twice = runner.invoke(app, [*args[:4], "best_first,best-first", *args[5:], "--tasks", "1 2 3 4"])
    assert twice.exit_code == 2 and "names one controller twice" in twice.output


class Corridor(Environment[int, str]):
    """Walk right three times."""

    async def reset(self, task: Task) -> Step[int]:
        return Step(0, "at 0")

    async def step(self, state: int, action: str) -> Step[int]:
        new = state + (1 if action == "right" else 0)
        return Step(new, f"at {new}", reward=float(new == 3), terminal=new == 3)

    def legal_actions(self, state: int) -> list[str]:
        return ["left", "right"]

    def render(self, state: int) -> str:
        return f"at {state}"


def test_a_user_registers_a_controller_and_an_environment_with_one_call_each() -> None:
    wide = register_controller("wide-beam", Beam, "beam search, four wide", fixed={"width": 4}, replace=True)
    corridor = register_environment("corridor", Corridor, "walk right three times", replace=True)
    try:
        assert CONTROLLERS["wide_beam"] is wide and ENVIRONMENTS["Corridor"] is corridor
        assert "width" not in wide.knobs and "expansions_per_beam" in wide.knobs
        done = runner.invoke(app, ["run", "corridor", "--task", "walk", "-c", "wide-beam", "--evaluator", "reward"])
        assert done.exit_code == 0, done.output
        assert "solved      yes" in done.output and "right → right → right" in done.output
        with pytest.raises(ValueError, match="already registered"):
            register_controller("wide_beam", Beam, "again")
    finally:
        CONTROLLERS._recipes.pop("wide_beam")
        ENVIRONMENTS._recipes.pop("corridor")


def test_a_registry_lists_only_the_choices_a_domain_allows() -> None:
    table = Registry("thing")
    for name in ("a-one", "b_two", "c"):
        table.register(Recipe(name, "x", str))
    with pytest.raises(UnknownRecipe, match=r"^unknown thing 'c' here; choose one of: a-one, b_two$"):
        table.get_recipe("c", among=("a_one", "b-two"), where=" here")
    assert table.canonical("A-ONE") == "a_one" and "B-Two" in table and len(table) == 3


class OpenCorridor(Corridor):
    """The corridor with an open action space (no `legal_actions`)."""

    legal_actions = Environment.legal_actions  # type: ignore[assignment]


def test_auto_evaluator_says_what_it_picks_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    args = ["run", "examples/maze_env.py:MazeEnv", "--task-json", '{"id": "maze"}']
    done = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == (
        "evaluator: rollout (auto: the environment has legal_actions; use --evaluator reward for speed)"
    )
    chosen = runner.invoke(app, [*args, "--evaluator", "reward"], env={"COLUMNS": "200"})
    assert chosen.exit_code == 0 and "evaluator:" not in chosen.output


def test_auto_rollouts_go_no_deeper_than_the_search_in_a_single_player_task() -> None:
    from treeagent.agents.heuristics import EnvReward
    from treeagent.environments.games.openspiel import OpenSpielEnv

    _, rollout = search_agents("uniform", "auto", env=Corridor(), max_depth=7)
    assert isinstance(rollout, RandomRollout) and (rollout.n, rollout.max_steps) == (4, 7)
    _, explicit = search_agents("uniform", "rollout", env=Corridor(), max_depth=7)
    assert isinstance(explicit, RandomRollout) and explicit.max_steps == 7
    _, game = search_agents("uniform", "auto", env=OpenSpielEnv("tic_tac_toe"), max_depth=7)
    assert isinstance(game, RandomRollout) and game.max_steps == 1000  # a game is played to its end
    assert isinstance(search_agents("uniform", "auto", env=OpenCorridor(), max_depth=7)[1], EnvReward)
    assert auto_evaluator(OpenCorridor(), model=True)[0] == "llm"


def test_auto_rollouts_in_a_maze_leave_the_search_something_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,000-step random walks found the goal from every cell: every node scored 1.0 and best-first
    # stopped after one expansion, unsolved
    monkeypatch.chdir(ROOT)
    args = ["run", "examples/maze_env.py:MazeEnv", "--task-json", '{"id": "maze"}', "--set", "max_depth=20"]
    done = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "solved yes" in " ".join(done.output.split())
