"""Environments by name, for the command line: built-ins and any user class `module:Class`.

A user's environment needs no registration: `treeagent run mypkg.envs:MazeEnv --task-json
'{"id": "maze-1", "data": {...}}'` imports the class, builds it with no arguments, and runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from treeagent.environments.base import Environment, Task


class EnvSpecError(ValueError):
    """The environment name or the task given for it is not usable; the message says why."""


BUILTINS = {
    "game24": "the Game of 24; --task '4 9 10 13'",
    "openspiel:GAME": "any two-player or single-player OpenSpiel game; --task 'MOVE MOVE ...' to start mid-game",
    "web": "a MiniWoB++ page in headless Chromium; --task 'click-button' or 'click-button#SEED' (treeagent web list)",
    "module:Class": 'your own Environment subclass; --task-json \'{"id": ..., "prompt": ..., "data": {...}}\'',
}


def make(spec: str, task_text: str | None = None, task_json: str | None = None) -> tuple[Environment[Any, Any], Task]:
    """The environment named by `spec` and the task for it."""
    if spec == "game24":
        from treeagent.environments.games.game24 import Game24Env, game24_task

        if task_json:
            return Game24Env(), _task_from_json(task_json)
        if not task_text:
            raise EnvSpecError("game24 needs --task with four numbers, e.g. --task '4 9 10 13'")
        numbers = task_text.replace(",", " ").split()
        try:
            return Game24Env(), game24_task(numbers)
        except (ValueError, TypeError) as exc:
            raise EnvSpecError(f"bad Game of 24 task {task_text!r}: {exc}") from None
    if spec == "web":
        from treeagent.environments.web import WebEnv, WebTaskError, miniwob_task

        if task_json:
            return WebEnv(), _task_from_json(task_json)
        name, _, seed = (task_text or "").partition("#")
        if not name or (seed and not seed.isdigit()):
            raise EnvSpecError("web needs --task NAME or NAME#SEED, e.g. --task click-button#3 (treeagent web list)")
        try:
            return WebEnv(), miniwob_task(name, int(seed or 0))
        except WebTaskError as exc:
            raise EnvSpecError(str(exc)) from None
    if spec.startswith("openspiel:"):
        from treeagent.environments.games.openspiel import OpenSpielEnv, game_task

        name = spec.split(":", 1)[1]
        env = OpenSpielEnv(name)
        moves: list[int | str] = [int(m) if m.lstrip("-").isdigit() else m for m in (task_text or "").split()]
        return env, _task_from_json(task_json) if task_json else game_task(name, moves)
    if ":" in spec:
        return _user_env(spec), _user_task(spec, task_text, task_json)
    known = ", ".join(BUILTINS)
    raise EnvSpecError(f"unknown environment {spec!r}; use one of: {known}")


def _user_env(spec: str) -> Environment[Any, Any]:
    """`package.module:Class` (importable, or relative to the current directory) or `path/file.py:Class`."""
    module_name, _, class_name = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ImportError(f"no file {path}")
            loaded = importlib.util.spec_from_file_location(path.stem, path)
            assert loaded is not None and loaded.loader is not None
            module = importlib.util.module_from_spec(loaded)
            sys.modules[path.stem] = module
            loaded.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EnvSpecError(f"cannot import {module_name!r} for environment {spec!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Environment)):
        raise EnvSpecError(f"{spec!r} is not an Environment subclass (module {module_name} has no such class)")
    try:
        return cls()
    except TypeError as exc:
        raise EnvSpecError(f"{spec!r} must be constructible with no arguments for the command line: {exc}") from None


def _user_task(spec: str, task_text: str | None, task_json: str | None) -> Task:
    if task_json:
        return _task_from_json(task_json)
    if task_text:
        return Task(id=task_text[:60], prompt=task_text)
    raise EnvSpecError(f'{spec} needs a task: --task TEXT or --task-json \'{{"id": ..., "data": {{...}}}}\'')


def _task_from_json(text: str) -> Task:
    try:
        return Task.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise EnvSpecError(f"--task-json is not JSON: {exc.msg} at character {exc.pos}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'task'}: {e['msg']}" for e in exc.errors())
        raise EnvSpecError(f"--task-json is not a task: {problems}") from None
