"""MCTS' pieces on hand-built nodes: selection functions, child choice, backup, solver proofs, the
move to play. No environment and no model, except where a test checks the pieces inside a search."""

from __future__ import annotations

import math

import pytest

from treeagent.agents.heuristics import RandomRollout, UniformPolicy
from treeagent.environments.games.openspiel import OpenSpielEnv, game_task
from treeagent.search import MCTS, best_child, puct_score, uct_score
from treeagent.search.knobs import KnobError, check_knobs, describe_knobs
from treeagent.search.mcts import backup, propagate_proofs, prove, select_child
from treeagent.search.node import Node

_ids = iter(range(1, 1_000_000))


def _root(mover: int = 0, visits: int = 0) -> Node:
    root = Node(0, None, None, None, mover)
    root.visits = visits
    return root


def _child(
    parent: Node,
    mover: int = 0,
    visits: int = 0,
    value_sum: float = 0.0,
    prior: float | None = None,
    proven: float | None = None,
) -> Node:
    node = Node(next(_ids), parent, f"a{len(parent.children)}", None, mover, prior)
    node.visits, node.value_sum, node.proven = visits, value_sum, proven
    parent.children.append(node)
    return node


# -- the selection functions ---------------------------------------------------------------------
def test_uct_scores_mean_plus_exploration_and_unvisited_first() -> None:
    root = _root(visits=10)
    a = _child(root, visits=4, value_sum=3.0)
    uct = uct_score(2.0)
    assert uct(10, a, 0.5) == pytest.approx(0.75 + 2.0 * math.sqrt(math.log(10) / 4))
    assert uct(10, _child(root), 0.5) == math.inf
    assert uct(0, a, 0.5) == pytest.approx(0.75)  # a parent with no visits: no exploration term


def test_uct_trades_value_against_visits() -> None:
    root = _root(visits=100)
    strong = _child(root, visits=60, value_sum=42.0)  # mean 0.7, explored a lot
    weak = _child(root, visits=5, value_sum=2.5)  # mean 0.5, barely explored
    assert select_child(root, uct_score(0.0)) is strong  # no exploration: the best mean
    assert select_child(root, uct_score(math.sqrt(2))) is weak  # 0.5 + 1.36 > 0.7 + 0.39


def test_uct_takes_the_first_unvisited_child() -> None:
    root = _root(visits=3)
    _child(root, visits=3, value_sum=3.0)
    first = _child(root)
    _child(root)
    assert select_child(root, uct_score(1.0)) is first


def test_puct_follows_the_prior_and_uses_fpu_for_unvisited_children() -> None:
    root = _root(visits=0)
    low = _child(root, prior=0.2)
    high = _child(root, prior=0.8)
    puct = puct_score(1.0, fpu=0.5)
    assert puct(0, high, 0.8) == pytest.approx(0.5 + 0.8)  # unvisited parent: sqrt(N) counts as 1
    assert select_child(root, puct) is high
    # once the favoured child has disappointed often enough, the other one's turn comes
    root.visits, high.visits, high.value_sum = 16, 16, 0.0
    assert puct(16, high, 0.8) == pytest.approx(0.8 * 4 / 17)
    assert select_child(root, puct) is low
    # with a low first-play urgency, an unvisited child waits longer
    assert select_child(root, puct_score(1.0, fpu=-1.0)) is high


def test_puct_counts_a_missing_prior_as_uniform() -> None:
    root = _root(visits=4)
    a = _child(root, visits=1, value_sum=0.5)
    b = _child(root, visits=1, value_sum=0.5)
    seen: list[tuple[int, str, float]] = []

    def spy(parent_visits: int, child: Node, prior: float) -> float:
        seen.append((parent_visits, child.action, prior))
        return 0.0

    assert select_child(root, spy) is a  # equal scores: the first is taken
    assert seen == [(4, "a0", 0.5), (4, "a1", 0.5)]
    b.prior = 0.9
    seen.clear()
    select_child(root, spy)
    assert seen == [(4, "a0", 0.5), (4, "a1", 0.9)]


# -- the search's own rules around the score -----------------------------------------------------
def test_a_proven_win_is_taken_and_a_proven_loss_is_never() -> None:
    root = _root(visits=50)
    lost = _child(root, visits=40, value_sum=39.0, proven=0.0)  # the best statistics, but lost
    middling = _child(root, visits=5, value_sum=2.0)
    assert select_child(root, uct_score(0.0)) is middling
    won = _child(root, visits=5, value_sum=0.0, proven=1.0)  # the worst statistics, but won
    assert select_child(root, uct_score(0.0)) is won
    assert lost.visits > won.visits


def test_when_every_child_is_lost_the_most_visited_stands_in() -> None:
    root = _root(visits=9)
    _child(root, visits=2, proven=0.0)
    most = _child(root, visits=6, proven=0.0)
    assert select_child(root, uct_score(1.0)) is most


def test_a_score_of_minus_infinity_everywhere_falls_back_to_the_most_visited() -> None:
    root = _root(visits=5)
    _child(root, visits=1)
    most = _child(root, visits=4)
    assert select_child(root, lambda n, child, p: -math.inf) is most


# -- backup --------------------------------------------------------------------------------------
def test_backup_adds_a_visit_and_the_value_from_each_movers_side() -> None:
    root = _root(mover=1)  # two players: the root's mover is the one not to move
    a = _child(root, mover=0)
    b = _child(a, mover=1)
    leaf = _child(b, mover=0)
    backup([root, a, b, leaf], 0.75)  # 0.75 for player 0, who moved into the leaf
    assert [n.visits for n in (root, a, b, leaf)] == [1, 1, 1, 1]
    assert [n.value_sum for n in (root, a, b, leaf)] == [0.25, 0.75, 0.25, 0.75]
    backup([root, a], 1.0)  # a win for player 0 at a
    assert (root.visits, root.value_sum, a.visits, a.value_sum) == (2, 0.25, 2, 1.75)
    assert b.visits == 1 and leaf.visits == 1  # off the path: untouched


def test_backup_in_a_single_agent_task_adds_the_same_value_everywhere() -> None:
    root = _root()
    a = _child(root)
    leaf = _child(a)
    backup([root, a, leaf], 0.4)
    backup([root, a], 0.2)
    assert [n.value_sum for n in (root, a, leaf)] == pytest.approx([0.6, 0.6, 0.4])
    assert [n.mean_value for n in (root, a, leaf)] == pytest.approx([0.3, 0.3, 0.4])


# -- solver proofs -------------------------------------------------------------------------------
def test_a_winning_move_proves_its_parent() -> None:
    # two players: player 0 moves from `node` into a won position, so `node` (player 1 moved into
    # it) is lost for player 1
    node = _root(mover=1)
    _child(node, mover=0)
    _child(node, mover=0, proven=1.0)
    assert prove(node) and node.proven == 0.0
    # single agent: a solved child solves its parent
    task = _root(mover=0)
    _child(task, mover=0, proven=1.0)
    assert prove(task) and task.proven == 1.0


def test_all_moves_losing_proves_the_parent_the_other_way() -> None:
    node = _root(mover=1)
    _child(node, mover=0, proven=0.0)
    _child(node, mover=0, proven=0.0)
    assert prove(node) and node.proven == 1.0  # player 0 has only losing moves: a win for player 1
    dead_end = _root(mover=0)
    _child(dead_end, mover=0, proven=0.0)
    assert prove(dead_end) and dead_end.proven == 0.0


def test_an_open_child_or_no_child_proves_nothing() -> None:
    node = _root(mover=1)
    _child(node, mover=0, proven=0.0)
    _child(node, mover=0)
    assert not prove(node) and node.proven is None
    childless = _root()
    assert not prove(childless) and childless.proven is None


def test_proofs_travel_up_the_path() -> None:
    # root (mover 0) -> a (mover 1) -> b (mover 0) -> leaf (mover 1, a proven win for player 1)
    root = _root(mover=0)
    a = _child(root, mover=1)
    other = _child(root, mover=1)
    b = _child(a, mover=0)
    leaf = _child(b, mover=1, proven=1.0)
    propagate_proofs([root, a, b, leaf])
    assert b.proven == 0.0  # player 1 wins from b: lost for player 0, who moved into b
    assert a.proven == 1.0  # b is a's only move and lost for player 0: a is won for player 1
    assert root.proven == 0.0  # player 1 has a winning move at the root, though `other` is open
    assert other.proven is None


def test_proofs_stop_at_the_first_node_they_do_not_settle() -> None:
    root = _root(mover=0)
    a = _child(root, mover=1)
    _child(root, mover=1, proven=1.0)  # would prove the root, had the proof reached it
    b = _child(a, mover=0)
    leaf = _child(b, mover=1, proven=0.0)
    _child(b, mover=1)  # open: b is not settled
    propagate_proofs([root, a, b, leaf])
    assert (b.proven, a.proven, root.proven) == (None, None, None)
    assert prove(root) and root.proven == 0.0


# -- the move to play ----------------------------------------------------------------------------
def test_best_child_prefers_a_proven_win_then_avoids_a_proven_loss_then_most_visits() -> None:
    root = _root(visits=30)
    lost = _child(root, visits=20, value_sum=15.0, proven=0.0)
    _child(root, visits=4, value_sum=1.0)
    steady = _child(root, visits=6, value_sum=3.0)
    assert best_child(root) is steady
    tied = _child(root, visits=6, value_sum=4.0)  # the same visits, a better mean
    assert best_child(root) is tied
    won = _child(root, visits=0, proven=1.0)
    assert best_child(root) is won
    only_lost = _root()
    _child(only_lost, visits=1, proven=0.0)
    assert best_child(only_lost) is only_lost.children[0]
    assert lost.visits > won.visits
    with pytest.raises(ValueError, match="no children"):
        best_child(_root())


# -- the selection injected into a search --------------------------------------------------------
def _shape(result: object) -> list[tuple[int, int, int]]:
    return [(n.id, n.action, n.visits) for n in result.tree]  # type: ignore[attr-defined]


async def test_a_selection_function_drives_the_search_like_its_name() -> None:
    env = OpenSpielEnv("connect_four")
    task = game_task("connect_four")

    def mcts(**kwargs: object) -> MCTS:
        return MCTS(UniformPolicy(), RandomRollout(seed=4), simulations=300, seed=4, **kwargs)  # type: ignore[arg-type]

    named = await mcts(selection="puct").run(env, task)
    given = await mcts(selection=puct_score(math.sqrt(2), 0.5), random_ties=False).run(env, task)
    assert _shape(named) == _shape(given)
    shuffled = await mcts(selection=puct_score(math.sqrt(2), 0.5)).run(env, task)  # a function: random ties
    assert _shape(shuffled) != _shape(named)
    # None children per expansion: every legal move at the root
    assert len(named.tree.root.children) == len(env.legal_actions((await env.reset(task)).state))


async def test_a_greedy_selection_function_is_followed() -> None:
    calls: list[int] = []

    def greedy(parent_visits: int, child: Node, prior: float) -> float:
        calls.append(parent_visits)
        return child.mean_value if child.visits else math.inf

    env = OpenSpielEnv("tic_tac_toe")
    controller = MCTS(UniformPolicy(), RandomRollout(seed=1), simulations=50, selection=greedy)
    result = await controller.run(env, game_task("tic_tac_toe"))
    assert calls and max(calls) < result.tree.root.visits == result.stats.simulations
    assert controller.config()["selection"].endswith("greedy")


def test_bad_selections_are_refused() -> None:
    with pytest.raises(ValueError, match="'uct', 'puct' or a function"):
        MCTS(UniformPolicy(), simulations=1, selection="ucb")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'uct', 'puct' or a function"):
        MCTS(UniformPolicy(), simulations=1, selection=3)  # type: ignore[arg-type]


def test_the_command_line_names_the_selection_functions_it_can_set() -> None:
    assert check_knobs(MCTS, {"selection": "puct", "random_ties": "true"}) == {
        "selection": "puct",
        "random_ties": True,
    }
    assert "selection: 'uct' | 'puct' = 'uct'" in describe_knobs(MCTS)
    with pytest.raises(KnobError, match="Input should be 'uct' or 'puct'"):
        check_knobs(MCTS, {"selection": "print"})
