"""Environments and their tasks from text: the built-ins' `--task` forms (the registry's
environment recipes call these), `--task-json`, and a user's own class named `module:Class`."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from treeagent.environments.base import Environment, Task


class EnvSpecError(ValueError):
    """The environment name or the task given for it is not usable; the message says why."""


def game24(arg: str | None, text: str | None, as_json: str | None) -> tuple[Environment[Any, Any], Task]:
    from treeagent.environments.games.game24 import Game24Env, game24_task

    if as_json:
        return Game24Env(), task_from_json(as_json)
    if not text:
        raise EnvSpecError("game24 needs --task with four numbers, e.g. --task '4 9 10 13'")
    try:
        return Game24Env(), game24_task(text.replace(",", " ").split())
    except (ValueError, TypeError) as exc:
        raise EnvSpecError(f"bad Game of 24 task {text!r}: {exc}") from None


def web(arg: str | None, text: str | None, as_json: str | None) -> tuple[Environment[Any, Any], Task]:
    from treeagent.environments.web import WebEnv, WebTaskError, miniwob_task

    if as_json:
        return WebEnv(), task_from_json(as_json)
    name, _, seed = (text or "").partition("#")
    if not name or (seed and not seed.isdigit()):
        raise EnvSpecError("web needs --task NAME or NAME#SEED, e.g. --task click-button#3 (treeagent web list)")
    try:
        return WebEnv(), miniwob_task(name, int(seed or 0))
    except WebTaskError as exc:
        raise EnvSpecError(str(exc)) from None


def openspiel(arg: str | None, text: str | None, as_json: str | None) -> tuple[Environment[Any, Any], Task]:
    from treeagent.environments.games.openspiel import OpenSpielEnv, game_task

    if not arg:
        raise EnvSpecError("openspiel needs a game: openspiel:GAME, e.g. openspiel:tic_tac_toe")
    moves: list[int | str] = [int(m) if m.lstrip("-").isdigit() else m for m in (text or "").split()]
    return OpenSpielEnv(arg), task_from_json(as_json) if as_json else game_task(arg, moves)


def user_env(spec: str) -> Environment[Any, Any]:
    """`package.module:Class` (importable, or relative to the current directory) or `path/file.py:Class`."""
    module_name, _, class_name = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ImportError(f"no file {path}")
            folder = str(path.resolve().parent)  # its siblings import as they would from `python file.py`
            if folder not in sys.path:
                sys.path.insert(0, folder)
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


def task_from_text(spec: str, text: str | None, as_json: str | None, parse: Callable[[str], Task] | None) -> Task:
    if as_json:
        return task_from_json(as_json)
    if text:
        return parse(text) if parse is not None else Task(id=text[:60], prompt=text)
    raise EnvSpecError(f'{spec} needs a task: --task TEXT or --task-json \'{{"id": ..., "data": {{...}}}}\'')


def task_from_json(text: str) -> Task:
    try:
        return Task.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise EnvSpecError(f"--task-json is not JSON: {exc.msg} at character {exc.pos}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'task'}: {e['msg']}" for e in exc.errors())
        raise EnvSpecError(f"--task-json is not a task: {problems}") from None
