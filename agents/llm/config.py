"""Where the client finds its endpoint: arguments, a config file, or environment variables.

Precedence: explicit arguments > `TREEAGENT_*` environment variables > the config file named by
`$TREEAGENT_LLM_CONFIG` (TOML or JSON) > defaults. A config with no base URL means "start the
embedded server" to the callers that can (examples, benchmarks, `eval`).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_BASE_URL = "TREEAGENT_BASE_URL"
ENV_API_KEY = "TREEAGENT_API_KEY"
ENV_MODEL = "TREEAGENT_MODEL"
ENV_CONFIG = "TREEAGENT_LLM_CONFIG"
ENV_CASSETTE = "TREEAGENT_CASSETTE"
ENV_CASSETTE_MODE = "TREEAGENT_CASSETTE_MODE"


class LLMConfigError(ValueError):
    """A bad client configuration; the message names the field and the fix."""


class LLMConfig(BaseModel):
    """Client settings. `base_urls` are endpoints serving the same model (requests are balanced)."""

    model_config = ConfigDict(extra="forbid")

    base_urls: list[str] = Field(default_factory=list)
    api_key: str = "EMPTY"
    #: served model name; None asks the first endpoint's /v1/models once.
    model: str | None = None
    #: requests in flight at once across the whole search (one slot per request, whatever its n).
    max_concurrency: int = Field(default=32, ge=1)
    #: seconds for one HTTP request, connect included; a server that stops mid-request never hangs.
    request_timeout_s: float = Field(default=120.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    #: retries on connection errors, timeouts, 429 and 5xx: attempts and a wall-clock window.
    max_attempts: int = Field(default=6, ge=1)
    retry_window_s: float = Field(default=60.0, gt=0)
    #: how long an endpoint that failed stays out of rotation (doubles on repeated failures).
    endpoint_cooldown_s: float = Field(default=2.0, gt=0)
    #: send response_format=json_schema for structured actions (vLLM, OpenAI); off for servers without it.
    structured_outputs: bool = True
    #: most choices one request may ask for (servers that cap n, e.g. llama.cpp: 1); the client
    #: tops up with further requests. None: no cap.
    max_n_per_request: int | None = Field(default=None, ge=1)
    #: record/replay file (JSONL, see agents/llm/cassette.py): re-run a search without a model, or
    #: record one. Modes: record, replay (no model needed), auto (replay what is there).
    cassette: str | None = None
    cassette_mode: Literal["record", "replay", "auto"] = "auto"

    @field_validator("base_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("base_urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        out = []
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"base URL {url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8765/v1)"
                )
            url = url.rstrip("/")
            out.append(url if url.endswith("/v1") else url + "/v1")
        return out

    @classmethod
    def load(cls, **overrides: Any) -> LLMConfig:
        """Build from the config file, then the environment, then `overrides` (None values ignored)."""
        data: dict[str, Any] = {}
        path = os.environ.get(ENV_CONFIG)
        if path:
            data.update(_read_file(Path(path)))
        env = {
            ENV_BASE_URL: "base_urls",
            ENV_API_KEY: "api_key",
            ENV_MODEL: "model",
            ENV_CASSETTE: "cassette",
            ENV_CASSETTE_MODE: "cassette_mode",
        }
        for var, key in env.items():
            if os.environ.get(var):
                data[key] = os.environ[var]
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise LLMConfigError(f"bad LLM configuration: {exc}") from None


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise LLMConfigError(f"{ENV_CONFIG}={path} is not a file; point it at a TOML or JSON file or unset it")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise LLMConfigError(f"cannot parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise LLMConfigError(f"{path} must hold a table/object of settings")
    section = data.get("llm", data)
    return dict(section)
