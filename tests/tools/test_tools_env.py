"""The tool environment: per-branch state, errors as observations, turns, and the controllers
(DFSDT's give-up pruning, the ReAct chain) driven by a scripted policy for exact control flow."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from treeagent.environments.base import InvalidAction, Task
from treeagent.environments.tools import ToolAction, ToolEnv, backend_tools
from treeagent.search import DFSDT, Budget, read_records
from treeagent.search.react import ReActChain

call = ToolAction.call


class Disk:
    """A tiny file system: file name -> text."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {"a.txt": "alpha", "b.txt": "beta"}

    def ls(self) -> list[str]:
        """The file names."""
        return sorted(self.files)

    def rm(self, name: str) -> str:
        """Delete a file.

        Args:
            name: the file to delete.
        """
        del self.files[name]
        return f"removed {name}"

    def cat(self, name: str) -> str:
        """A file's text.

        Args:
            name: the file.
        """
        return self.files[name]


def big(n: int) -> str:
    """A long output.

    Args:
        n: how many characters.
    """
    return "x" * n


def slow(seconds: float) -> str:
    """Sleeps (blocking) then answers.

    Args:
        seconds: how long.
    """
    time.sleep(seconds)
    return "woke"


async def slow_async(seconds: float) -> str:
    """Sleeps (async) then answers.

    Args:
        seconds: how long.
    """
    await asyncio.sleep(seconds)
    return "woke"


def make_env(**kwargs: Any) -> ToolEnv:
    return ToolEnv(
        [*backend_tools("disk", Disk()), big, slow, slow_async],
        backends=lambda task: {"disk": Disk()},
        **kwargs,
    )


TASK = Task(id="disk", data={"turns": ["delete a.txt", "show b.txt"]})


async def test_sibling_branches_never_see_each_others_effects() -> None:
    env = make_env()
    root = await env.reset(TASK)
    deleted = await env.step(root.state, call("rm", name="a.txt"))
    assert deleted.observation == "removed a.txt"
    sibling = await env.step(root.state, call("ls"))
    assert sibling.observation == "['a.txt', 'b.txt']"  # the sibling still has the file
    assert root.state.backends["disk"].files.keys() == {"a.txt", "b.txt"}  # the parent is untouched
    after = await env.step(deleted.state, call("ls"))
    assert after.observation == "['b.txt']"  # the branch itself sees its deletion
    again = await env.step(root.state, call("rm", name="a.txt"))  # the same action twice from the parent
    assert again.observation == "removed a.txt"


async def test_bad_calls_come_back_as_observations_and_change_nothing() -> None:
    env = make_env(timeout=0.3, max_output_chars=100)
    root = await env.reset(TASK)
    unknown = await env.step(root.state, call("format_disk"))
    assert "no tool named 'format_disk'" in unknown.observation and "ls" in unknown.observation
    assert not unknown.terminal and unknown.info["rejected"]
    bad_args = await env.step(root.state, call("rm", file="a.txt"))
    assert "Invalid call to rm" in bad_args.observation and "name: Field required" in bad_args.observation
    assert bad_args.state.backends["disk"].files.keys() == {"a.txt", "b.txt"}
    raising = await env.step(root.state, call("cat", name="nope.txt"))
    assert raising.observation == "Error during execution: 'nope.txt'" and raising.info["ok"] is False
    for tool in ("slow", "slow_async"):
        timed = await env.step(root.state, call(tool, seconds=1.0))
        assert timed.observation == f"Error during execution: {tool} timed out after 0.3 s"
    capped = await env.step(root.state, call("big", n=500))
    assert capped.observation.startswith("x" * 100) and "[400 more characters cut]" in capped.observation
    assert len(capped.state.calls[-1].output) == 500  # the state keeps the whole output for judging
    assert [c.executed for c in capped.state.calls] == [True]
    with pytest.raises(InvalidAction, match="not a call"):
        env.parse_action(root.state, "please delete the file")


async def test_turns_answers_give_up_and_the_step_limit() -> None:
    env = make_env(max_calls_per_turn=2)
    root = await env.reset(TASK)
    assert root.observation == "User: delete a.txt"
    one = await env.step(root.state, call("rm", name="a.txt"))
    turn2 = await env.step(one.state, ToolAction.answer("deleted"))
    assert turn2.observation == "User: show b.txt" and not turn2.terminal and turn2.state.turn == 1
    assert env.render(turn2.state).startswith("Turn 2 of 2. User: show b.txt")
    shown = await env.step(turn2.state, env.parse_action(turn2.state, "cat('b.txt')"))
    assert shown.observation == "beta"
    done = await env.step(shown.state, ToolAction.answer("beta"))
    assert done.terminal and done.solved and done.state.answers == ("deleted", "beta")
    with pytest.raises(InvalidAction, match="over"):
        await env.step(done.state, call("ls"))
    gave_up = await env.step(root.state, ToolAction.give_up())
    assert gave_up.terminal and gave_up.reward == 0.0 and not gave_up.solved
    state = root.state
    for _ in range(2):
        state = (await env.step(state, call("ls"))).state
    limited = await env.step(state, call("ls"))
    assert limited.terminal and limited.reward == 0.0 and "more than 2 tool calls" in limited.observation


async def test_a_judge_decides_the_final_reward() -> None:
    env = make_env(judge=lambda state: float("a.txt" not in state.backends["disk"].files))
    root = await env.reset(Task(id="one", prompt="delete a.txt"))
    lazy = await env.step(root.state, ToolAction.answer("done"))
    assert lazy.terminal and lazy.reward == 0.0
    worked = await env.step((await env.step(root.state, call("rm", name="a.txt"))).state, ToolAction.answer("ok"))
    assert worked.reward == 1.0


async def test_dfsdt_give_up_prunes_the_branch_and_the_search_backtracks(tmp_path: Any, scripted: Any) -> None:
    policy = scripted(
        {
            (): [call("ls")],
            ("ls()",): [call("rm", name="a.txt"), call("cat", name="b.txt")],
            ("ls()", "rm(name='a.txt')"): ["GIVE_UP", call("cat", name="never.txt")],
            ("ls()", "cat(name='b.txt')"): [ToolAction.answer("b is beta")],
        }
    )
    trace = tmp_path / "dfsdt.jsonl"
    result = await DFSDT(policy, budget=Budget(max_expansions=20), width=2, trace=trace).run(
        make_env(), Task(id="t", prompt="read b")
    )
    assert result.solved
    assert result.best_texts == ["ls()", "cat(name='b.txt')", "answer: b is beta"]
    rm_node = next(n for n in result.tree.nodes if n.text == "rm(name='a.txt')")
    assert [c.give_up for c in rm_node.children] == [True]  # its second option was never tried
    assert policy.asked[("ls()", "rm(name='a.txt')")] == 1
    assert ["rm(name='a.txt')"] in policy.tried_seen  # the diversity prompt saw the tried sibling
    records = list(read_records(trace))
    assert any(r["type"] == "backtrack" and r["node"] == rm_node.children[0].id for r in records)
    assert records[-1]["type"] == "end" and records[-1]["solved"] is True


async def test_dfsdt_without_give_up_tries_the_next_sibling(scripted: Any) -> None:
    policy = scripted(
        {
            (): [call("ls")],
            ("ls()",): [call("rm", name="a.txt"), call("cat", name="b.txt")],
            ("ls()", "rm(name='a.txt')"): ["BAD", "BAD"],
            ("ls()", "cat(name='b.txt')"): [ToolAction.answer("beta")],
        }
    )
    result = await DFSDT(policy, budget=Budget(max_expansions=20), width=2).run(make_env(), Task(id="t", prompt="x"))
    assert result.solved
    rm_node = next(n for n in result.tree.nodes if n.text == "rm(name='a.txt')")
    assert len(rm_node.children) == 2 and all(c.failed and not c.give_up for c in rm_node.children)


async def test_react_chain_retries_bad_replies_restarts_after_give_up_and_keeps_the_budget(scripted: Any) -> None:
    policy = scripted(
        {
            (): [call("ls"), call("cat", name="b.txt")],
            ("ls()",): ["BAD", call("rm", name="a.txt")],
            ("ls()", "rm(name='a.txt')"): ["GIVE_UP"],
            ("cat(name='b.txt')",): [ToolAction.answer("beta")],
        }
    )
    result = await ReActChain(policy, budget=Budget(max_expansions=10)).run(make_env(), Task(id="t", prompt="x"))
    assert result.solved and result.best_texts == ["cat(name='b.txt')", "answer: beta"]
    assert result.stats.expansions == 6
    assert len(result.tree.root.children) == 2  # two chains from the root
    starved = scripted({(): [call("ls")] * 10, ("ls()",): [call("ls")] * 10})
    budgeted = await ReActChain(starved, budget=Budget(max_expansions=3)).run(make_env(), Task(id="t", prompt="x"))
    assert not budgeted.solved and budgeted.stop_reason == "max_expansions" and budgeted.stats.expansions == 3
