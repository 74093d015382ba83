"""Request and result models: the sandbox's public boundary."""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath
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
    time_limit_s: float = Field(default=10.0, gt=0, le=3600)
    cpu_limit_s: float | None = Field(default=None, gt=0, le=3600)
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
        return v

    @field_validator("files")
    @classmethod
    def _relative_paths(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            p = PurePosixPath(name)
            if not name or p.is_absolute() or ".." in p.parts or "\0" in name:
                raise ValueError(
                    f"file name {name!r} must be a relative path inside the work dir (no '..', not absolute)"
                )
        return v

    @model_validator(mode="after")
    def _check(self) -> RunRequest:
        if (self.code is None) == (self.command is None):
            raise ValueError("give exactly one of `code` (a Python snippet) or `command` (an argv list)")
        if self.code is not None and "main.py" in self.files:
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
