"""The records of a trace file, as pydantic models: what each record type must hold.

Readers validate each record against the model of its type (`RECORD_MODELS`), so a malformed trace
is refused with the field and the problem. Extra fields are ignored: newer writers stay readable.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TraceRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    #: seconds since the writer opened (traces written before timestamps have none)
    t: float | None = None


class RunRecord(TraceRecord):
    controller: str
    task: dict[str, Any]
    env: str = ""
    seed: int = 0
    config: dict[str, Any] = Field(default_factory=dict)
    resumed: bool = False
    time: str = ""


class NodeRecord(TraceRecord):
    id: int = Field(ge=0)
    parent: int | None
    depth: int = Field(default=0, ge=0)
    action: Any = None
    text: str | None = ""
    mover: int | None = None
    prior: float | None = None
    status: str = "open"
    error: str | None = None
    give_up: bool = False
    reward: float | None = None
    terminal: bool | None = None
    returns: list[float] | None = None
    observation: str | None = None


class ExpandRecord(TraceRecord):
    node: int
    proposals: list[dict[str, Any]] = Field(default_factory=list)
    #: the policy raised: the expansion was spent and gave nothing (a resumed run asks again)
    error: str | None = None


class ValueRecord(TraceRecord):
    node: int
    value: float


class LLMRecord(TraceRecord):
    node: int | None = None
    tag: str = ""
    n: int = 1
    #: the completions the request returned: the LLM calls it cost (older traces lack it)
    returned: int | None = None
    #: a call an earlier run made, written again by the resumed run that reused its reply
    resumed: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0
    finish_reasons: list[str | None] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)
    messages: list[dict[str, Any]] | None = None
    replayed: bool = False

    @property
    def calls(self) -> int:
        """LLM calls (sampled completions) this request cost."""
        return self.returned if self.returned is not None else (len(self.texts) or self.n)


class LessonRecord(TraceRecord):
    node: int | None = None
    text: str


class EndRecord(TraceRecord):
    solved: bool
    stop_reason: str
    best: int | None = None
    best_path: list[int] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
    visits: list[tuple[int, int, float, float | None]] = Field(default_factory=list)
    nodes: int | None = None


RECORD_MODELS: dict[str, type[TraceRecord]] = {
    "run": RunRecord,
    "node": NodeRecord,
    "expand": ExpandRecord,
    "value": ValueRecord,
    "llm": LLMRecord,
    "lesson": LessonRecord,
    "end": EndRecord,
}
