"""How a search scores nodes and keeps lessons: the evaluator's value (or the environment's reward
when no call is left), the exact value of terminal nodes, and reflections turned into lessons.
Values and lessons are traced, and on resume they are taken from the trace with the model calls
that made them written again, so nothing is asked twice. `SearchRun` calls these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from treeagent.agents.base import BudgetExhausted, SearchStop
from treeagent.search.faults import error_text
from treeagent.search.node import Node, Status

if TYPE_CHECKING:
    from treeagent.search.run import SearchRun


def terminal_value(node: Node) -> float:
    """The exact value of a terminal node from its mover's side."""
    step = node.step
    assert step is not None
    if step.returns is not None:
        mover = node.mover or 0
        return min(1.0, max(0.0, (step.returns[mover] + 1.0) / 2.0))
    return min(1.0, max(0.0, step.reward))


async def evaluate(run: SearchRun, node: Node) -> float:
    """The node's value in [0, 1] (also stored on `node.value`); failures are worth 0."""
    if node.status == Status.FAILED:
        return 0.0
    if node.status == Status.TERMINAL:
        value = terminal_value(node)
        if value >= 1.0 and node.solved and run.solution is None:
            run.solution = node
    elif run.evaluator is None:
        value = min(1.0, max(0.0, node.step.reward if node.step is not None else 0.0))
    else:
        cached = run.cache.values.get(node.key or "") if run.cache is not None else None
        if cached is not None:
            value = cached
            run.replay_calls(f"value:{node.key}", node)
            run.record({"type": "value", "node": node.id, "key": node.key, "value": value, "resumed": True})
        else:
            try:
                value = float(await run.evaluator.value(run.view(node, slot=f"value:{node.key}")))
            except BudgetExhausted:  # no call left: the environment's reward, not recorded
                value = min(1.0, max(0.0, node.step.reward if node.step is not None else 0.0))
                node.value = value
                return value
            except SearchStop:
                raise
            except Exception as exc:
                run.contain(exc)
                run.fail(node, f"evaluator failed: {error_text(exc)}")
                return 0.0
            value = min(1.0, max(0.0, value))
            run.meter.stats.evaluations += 1
            if run.trace is not None:
                run.trace.write({"type": "value", "node": node.id, "key": node.key, "value": value})
    node.value = value
    return value


async def reflect(run: SearchRun, node: Node) -> str:
    """Turn the failed trajectory ending at `node` into a lesson for later prompts; the lesson
    ('' when there is none: no reflector, no call left, a reflector fault)."""
    if run.reflector is None or node.step is None:
        return ""
    key = node.key or ""
    lesson = run.cache.lessons.get(key) if run.cache is not None else None
    if lesson is not None:
        _replay_lesson(run, node, lesson)
    else:
        try:
            lesson = (await run.reflector.reflect(run.view(node, slot=f"lesson:{key}"))).strip()
        except BudgetExhausted:
            return ""
        except SearchStop:
            raise
        except Exception as exc:
            run.contain(exc)
            run.record({"type": "error", "node": node.id, "where": "reflector", "error": error_text(exc)})
            return ""
        if run.trace is not None:
            run.trace.write({"type": "lesson", "node": node.id, "key": key, "text": lesson})
    if lesson and lesson not in run.lessons:
        run.lessons.append(lesson)
    return lesson


def restore_lesson(run: SearchRun, node: Node) -> None:
    """A replayed expansion brings back the lesson its policy asked for there (a coding policy
    reflects on a failing program before revising it)."""
    lesson = run.cache.lessons.get(node.key or "") if run.cache is not None else None
    if lesson is not None:
        _replay_lesson(run, node, lesson)
        if lesson and lesson not in run.lessons:
            run.lessons.append(lesson)


def _replay_lesson(run: SearchRun, node: Node, lesson: str) -> None:
    run.replay_calls(f"lesson:{node.key}", node)
    run.record({"type": "lesson", "node": node.id, "key": node.key, "text": lesson, "resumed": True})
