"""The token tree on hand-built rollouts: where it branches, what it selects, how values back up."""

from __future__ import annotations

import math

import pytest

from treeagent.search.adaptive import ArmStats, settled, ucb1
from treeagent.search.token_tree import TokenStep, TokenTree, pucb, steps_from, token_edits


def sure(token: str) -> TokenStep:
    """A token the model is sure of: its only alternative is far below any branching threshold."""
    return TokenStep(token, 0.99, {token: 0.99, "zz": 0.004})


def torn(token: str, other: str, p: float = 0.6) -> TokenStep:
    return TokenStep(token, p, {token: p, other: 1 - p - 0.01})


def test_branch_points_are_where_the_model_is_uncertain() -> None:
    tree = TokenTree(width=3, min_prior=0.05)
    tree.insert(tree.root, [sure("def"), sure(" f"), torn(" x", " y"), sure(":")], reward=0.0)
    points = [(node.text(), token, round(prior, 2)) for node, token, prior in tree.branch_points()]
    assert points == [("def f", " y", 0.39)]
    node, token, _prior = tree.select(pucb(1.0)) or (None, "", 0.0)
    assert node is not None and node.text() == "def f" and token == " y"


def test_whitespace_alternatives_and_unlikely_tokens_are_not_branch_points() -> None:
    tree = TokenTree(width=3, min_prior=0.05)
    steps = [TokenStep("\n", 0.5, {"\n": 0.5, "\n\n": 0.45}), TokenStep("a", 0.96, {"a": 0.96, "b": 0.04})]
    tree.insert(tree.root, steps, reward=0.0)
    assert tree.branch_points() == []
    assert tree.select(pucb(1.0)) is None
    assert tree.root.exhausted


def test_a_rollout_from_a_branch_point_extends_its_prefix_and_backs_up() -> None:
    tree = TokenTree()
    tree.insert(tree.root, [sure("a"), torn("b", "c"), sure("d")], reward=0.0)
    point = tree.select(pucb(1.0))
    assert point is not None
    node, token, prior = point
    start = tree.child(node, token, prior)
    assert start.text() == "ac"
    end = tree.insert(start, [sure("e")], reward=1.0)
    assert end.text() == "ace"
    assert tree.root.visits == 2 and tree.root.value_sum == 1.0 and tree.root.best == 1.0
    assert node.children["b"].visits == 1 and node.children["c"].visits == 1
    assert tree.branch_points() == []  # both ways at the only uncertain place are taken


def test_pucb_prefers_likely_untaken_tokens_then_rewarded_paths() -> None:
    tree = TokenTree(width=3, min_prior=0.05)
    first = TokenStep("a", 0.4, {"a": 0.4, "b": 0.3, "c": 0.25})
    tree.insert(tree.root, [first, sure("x")], reward=0.0)
    point = tree.select(pucb(1.0))
    assert point is not None and point[1] == "b"  # the likelier of the two untaken tokens
    tree.insert(tree.child(tree.root, "b", 0.3), [torn("y", "w", 0.5)], reward=1.0)
    # "b" passed: with little exploration its own uncertain place wins over the untaken "c"
    point = tree.select(pucb(0.1))
    assert point is not None and point[0].text() == "b" and point[1] == "w"
    # with much exploration the untaken, never-tried "c" at the root wins
    point = tree.select(pucb(50.0))
    assert point is not None and point[0] is tree.root and point[1] == "c"


def test_pucb_formula_on_hand_built_nodes() -> None:
    tree = TokenTree()
    tree.insert(tree.root, [torn("a", "b", 0.7)], reward=0.5)
    tree.insert(tree.root, [torn("a", "b", 0.7)], reward=1.0)
    child = tree.root.children["a"]
    assert child.visits == 2 and child.best == 1.0 and child.mean == 0.75
    by_best, by_mean = pucb(2.0), pucb(2.0, use_best=False)
    assert by_best(tree.root, "a", 0.7, child) == pytest.approx(1.0 + 2.0 * 0.7 * math.sqrt(2) / 3)
    assert by_mean(tree.root, "a", 0.7, child) == pytest.approx(0.75 + 2.0 * 0.7 * math.sqrt(2) / 3)
    assert by_best(tree.root, "b", 0.29, None) == pytest.approx(2.0 * 0.29 * math.sqrt(2))


def test_steps_from_logprobs() -> None:
    [step] = steps_from([("a", math.log(0.5), {"a": math.log(0.5), "b": math.log(0.25)})])
    assert step.token == "a" and step.prob == pytest.approx(0.5) and step.top["b"] == pytest.approx(0.25)


def test_invalid_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        TokenTree(width=0)
    with pytest.raises(ValueError, match="min_prior"):
        TokenTree(min_prior=1.5)


def test_ucb1_tries_every_arm_then_follows_the_gains() -> None:
    stats = {"branch": ArmStats(), "sample": ArmStats(), "revise": ArmStats()}
    assert ucb1(stats, ["branch", "sample", "revise"]) == "branch"
    stats["branch"] = ArmStats(pulls=5, gains=3)
    assert ucb1(stats, ["branch", "sample"]) == "sample"
    stats["sample"] = ArmStats(pulls=5, gains=0)
    stats["revise"] = ArmStats(pulls=5, gains=0)
    assert ucb1(stats, ["branch", "sample", "revise"]) == "branch"
    assert ucb1(stats, ["sample", "revise"]) in ("sample", "revise")


def test_a_pass_settles_the_search_once_confirmed_by_agreement_or_by_calls() -> None:
    assert not settled([], since=0, confirm=2)  # nothing passes yet
    assert not settled(["a"], since=0, confirm=2)  # the first passer alone
    assert not settled(["a", "b"], since=1, confirm=2)  # two passers that disagree
    assert settled(["a", "b", "a"], since=1, confirm=2)  # two passers that behave alike
    assert settled(["a", "b"], since=2, confirm=2)  # the confirmation calls are spent
    assert settled(["a"], since=0, confirm=0)  # no confirmation asked: the first pass ends it
    assert not settled([None, None], since=1, confirm=2)  # unknown behaviours never agree


def test_pucb_with_log_visits_as_pg_td_writes_it() -> None:
    tree = TokenTree()
    for _ in range(4):
        tree.insert(tree.root, [torn("a", "b", 0.7)], reward=0.5)
    child = tree.root.children["a"]
    score = pucb(4.0, log_visits=True)
    assert score(tree.root, "a", 0.7, child) == pytest.approx(0.5 + 4.0 * 0.7 * math.sqrt(math.log(4)) / 5)
    assert score(tree.root, "b", 0.29, None) == pytest.approx(4.0 * 0.29 * math.sqrt(math.log(4)))


def test_token_edits_swap_the_likeliest_alternatives_and_keep_the_rest() -> None:
    lp = math.log
    steps = [
        ("    return", lp(0.99), {}),  # no alternatives recorded (outside the body): never edited
        (" x", lp(0.9), {" x": lp(0.9), " y": lp(0.06)}),
        (" <", lp(0.3), {" <": lp(0.3), " <=": lp(0.65), " >": lp(0.02)}),
        (" 1", lp(0.5), {" 1": lp(0.5), " 0": lp(0.45), "\n": lp(0.04)}),
        ("\n", lp(0.8), {"\n": lp(0.8), "\n\n": lp(0.15)}),  # whitespace for whitespace: skipped
    ]
    edits = token_edits("def f(x):\n", steps, "\nprint(f(1))", limit=3, min_prior=0.05)
    assert [round(p, 2) for p, _ in edits] == [0.65, 0.45, 0.06]
    assert edits[0][1] == "def f(x):\n    return x <= 1\n\nprint(f(1))"
    assert edits[1][1] == "def f(x):\n    return x < 0\n\nprint(f(1))"
    assert edits[2][1] == "def f(x):\n    return y < 1\n\nprint(f(1))"
    assert len(token_edits("", steps, "", limit=10, min_prior=0.05)) == 3  # " >" (0.02) is too unlikely
    assert token_edits("", steps, "", limit=0) == [] and token_edits("", [], "", limit=4) == []
