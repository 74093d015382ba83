"""Request and result models: the sandbox's public boundary."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SOURCE_BYTES = 32 << 20


class Verdict(StrEnum):
    """How a run ended. `error` covers non-zero exits and crashes (segfaults) of the code itself;
    `killed` means a signal from elsewhere ended it (the code killed itself, or the worker died)."""

    ok = "ok"
    error = "error"
    timeout = "timeout"
    memory = "memory"
    output = "output"
    killed = "killed"


class RunRequest(BaseModel):
    """One execution. Give `code` (a Python snippet, run as `python main.py` in a warm
    interpreter: the fast path) or `command` (an argv run in the work dir), plus any `files`.

    Limits: `time_limit_s` is wall time (the CPU limit defaults to it); memory is resident memory
    where the machine has a memory cgroup, else address space; `output_limit_bytes` caps stdout
    and stderr together; `max_processes` counts every process and thread of the run.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str | None = None
    command: list[str] | None = None
    files: dict[str, str] = Field(default_factory=dict)
    stdin: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    time_limit_s: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    cpu_limit_s: float | None = Field(default=None, gt=0, le=3600, allow_inf_nan=False)
    memory_limit_mb: int = Field(default=512, ge=16, le=1 << 20)
    output_limit_bytes: int = Field(default=1 << 20, ge=1, le=1 << 30)
    max_processes: int = Field(default=64, ge=1, le=4096)
    max_file_size_mb: int = Field(default=64, ge=1, le=1 << 16)
    max_open_files: int = Field(default=256, ge=16, le=1 << 16)
    network: bool = Field(default=False, description="needs a sandbox created with allow_network=True; off by default")

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or not v[0]):
            raise ValueError("command must be a non-empty argv list, e.g. ['python3', 'main.py']")
        for i, arg in enumerate(v or []):
            if "\0" in arg:
                raise ValueError(f"command[{i}] = {arg!r} holds a NUL character, which no argv can carry")
            _encodable(arg, f"command[{i}]")
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not key or "=" in key or "\0" in key:
                raise ValueError(f"environment variable name {key!r} must be non-empty, without '=' or NUL")
            if "\0" in value:
                raise ValueError(f"environment variable {key} holds a NUL character, which no environment can carry")
            _encodable(key, "an environment variable name")
            _encodable(value, f"environment variable {key}")
        return v

    @field_validator("files")
    @classmethod
    def _relative_paths(cls, v: dict[str, str]) -> dict[str, str]:
        for name, content in v.items():
            parts = name.split("/")
            if not name or name.startswith("/") or "\0" in name or any(p in ("", ".", "..") for p in parts):
                raise ValueError(
                    f"file name {name!r} must be a relative path inside the work dir, to a file, in canonical "
                    "form: parts separated by single '/', none of them '', '.' or '..', no trailing '/'"
                )
            _encodable(name, f"file name {name!r}")
            _encodable(content, f"file {name!r}")
        for name in v:  # a file cannot also be a directory of another
            for i in range(1, name.count("/") + 1):
                parent = name.rsplit("/", i)[0]
                if parent in v:
                    raise ValueError(f"{parent!r} is a file, so {name!r} cannot be inside it")
        return v

    @field_validator("stdin", "code")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is not None:
            _encodable(v, "stdin or code")
        return v

    @model_validator(mode="after")
    def _check(self) -> RunRequest:
        if (self.code is None) == (self.command is None):
            raise ValueError("give exactly one of `code` (a Python snippet) or `command` (an argv list)")
        if self.code is not None and any(n == "main.py" or n.startswith("main.py/") for n in self.files):
            raise ValueError("`code` is written as main.py: rename the file called main.py in `files`")
        size = len(self.code or "") + sum(len(c) for c in self.files.values()) + len(self.stdin)
        if size > MAX_SOURCE_BYTES:
            raise ValueError(
                f"sources and stdin total {size} characters, over the {MAX_SOURCE_BYTES} limit: "
                "put large data in fewer, smaller files or generate it inside the run"
            )
        return self

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _encodable(text: str, what: str) -> None:
    """Text must become bytes: UTF-8, where lone surrogates in U+DC80..U+DCFF stand for raw bytes
    (Python's surrogateescape); any other lone surrogate cannot."""
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} holds {text[exc.start : exc.end]!r} at {exc.start}, a lone surrogate that is not "
            "valid UTF-8 text (only U+DC80..U+DCFF, standing for raw bytes, are accepted)"
        ) from None


class RunResult(BaseModel):
    """What a run did. `stdout`/`stderr` are capped (the `_truncated` flags say so); `message`
    explains any verdict other than ok in words."""

    model_config = ConfigDict(extra="ignore")

    verdict: Verdict
    exit_code: int | None = None
    signal: int | None = None
    message: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    peak_memory_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.ok


class SandboxError(RuntimeError):
    """The sandbox itself failed (no worker could start, no Docker daemon answers)."""
