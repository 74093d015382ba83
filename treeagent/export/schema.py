"""The JSONL schema of `treeagent export`: one pydantic model per line type.

Both formats are chat-shaped (role/content messages), the form SFT and DPO trainers take
(e.g. TRL's conversational datasets). A trajectory becomes a conversation: the task and the first
observation as the user's turn, then each step's action as an assistant turn and the observation it
produced as the next user turn.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class Source(BaseModel):
    """Where a record came from: enough to find the run and the nodes again."""

    model_config = ConfigDict(extra="forbid")

    trace: str = Field(description="the trace file the record was exported from")
    task_id: str
    env: str
    controller: str
    seed: int


class SFTRecord(BaseModel):
    """A successful trajectory (root to a solved node) as one conversation."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["sft"] = "sft"
    id: str = Field(description="TASK_ID/NODE_ID of the solved node; unique within one trace")
    messages: list[ChatMessage] = Field(description="user (task + first observation), then assistant/user turns")
    reward: float = Field(description="the environment's reward at the solved node (1.0 = solved)")
    node_ids: list[int] = Field(description="the nodes of the trajectory, root first")
    source: Source


class PreferencePair(BaseModel):
    """Two sibling steps from the same state whose values differ: a step-level (chosen, rejected) pair.

    `prompt` is the conversation up to the shared parent state; `chosen` and `rejected` each hold
    the one assistant turn that takes the step. Values are from the side of the player who moves
    (siblings share it): MCTS's mean backed-up value when the node was visited, else the
    evaluator's value; a failed step (invalid reply, error) is worth 0.
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal["preference"] = "preference"
    id: str = Field(description="TASK_ID/PARENT_ID/CHOSEN_ID-REJECTED_ID; unique within one trace")
    prompt: list[ChatMessage]
    chosen: list[ChatMessage] = Field(description="one assistant message: the higher-valued step")
    rejected: list[ChatMessage] = Field(description="one assistant message: the lower-valued step")
    chosen_value: float
    rejected_value: float
    margin: float = Field(description="chosen_value - rejected_value, always > 0")
    depth: int = Field(description="depth of the shared parent (0 = the first step)")
    parent_id: int
    chosen_id: int
    rejected_id: int
    value_source: Literal["visits", "value", "mixed"] = Field(
        description="visits: both are MCTS mean values; value: both are evaluator values; mixed: one of each"
    )
    source: Source
