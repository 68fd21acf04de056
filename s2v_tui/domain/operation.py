"""An operation of `s2v serve`: one accepted request (create a storyboard, regenerate a shot, render),
its state and outcome. Pure data; persisted by `storage.operations` inside the story's project folder.

`status` keeps the original service's three values (`Success`, `Running`, `Failed`) so its clients work
unchanged, and it is true: anything but a complete result is `Failed`. `state` says which kind of
not-finished or not-complete it is, for clients that want to know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from s2v_tui.domain.events import ErrorInfo, Failure
from s2v_tui.domain.ids import id_field
from s2v_tui.domain.shot import utcnow

OperationKind = Literal["storyboard", "regenerate", "render"]
OperationState = Literal["queued", "running", "done", "partial", "failed", "cancelled", "interrupted"]
Status = Literal["Success", "Running", "Failed"]

STATUS_OF: dict[str, Status] = {
    "queued": "Running", "running": "Running", "done": "Success", "partial": "Failed", "failed": "Failed",
    "cancelled": "Failed", "interrupted": "Failed",
}
ACTIVE_STATES = frozenset({"queued", "running"})
RESUMABLE_STATES = frozenset({"cancelled", "interrupted"})
"""Stopped before it finished: POSTing the same request again continues it (finished work is kept)."""


class OperationRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    operation_id: str
    kind: OperationKind
    user_id: str
    story_id: str
    request_hash: str
    """Hash of the request that created it: the same id with another body is a conflict, not a repeat."""
    state: OperationState = "queued"
    detail: str | None = None
    error: ErrorInfo | None = None
    failures: list[Failure] = Field(default_factory=list)
    shot_id: str | None = None
    """The shot a `regenerate` rebuilds."""
    keyframe_variant: int | None = None
    """The keyframe variant a `regenerate` asks for, fixed when it is accepted so a resumed operation
    asks for the same one (never a second new picture)."""
    final_path: str | None = None
    """Project-relative path of the film a `render` made."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @field_validator("operation_id", "user_id", "story_id")
    @classmethod
    def _ids(cls, value: str) -> str:
        return id_field(value, what="id")

    @property
    def status(self) -> Status:
        return STATUS_OF[self.state]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES
