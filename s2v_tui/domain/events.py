"""Typed events: the only way the engine talks to a front end.

The TUI turns them into messages, `s2v --run --json` prints one per line (`model_dump_json`), the
human reporter draws progress bars from them. Every event is immutable and JSON-serialisable, and
carries no secrets (messages pass through `errors.redact`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from s2v_tui.domain.errors import S2VError, redact
from s2v_tui.domain.shot import utcnow

StageName = Literal["storyboard", "keyframe", "voice", "clip", "segment", "final"]
RunStatus = Literal["done", "partial", "failed", "cancelled"]


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    hint: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, S2VError):
            return cls(code=exc.code, message=exc.message, hint=exc.hint)
        return cls(code="internal", message=redact(f"{type(exc).__name__}: {exc}"),
                   hint="this is a bug in s2v; please report it with the log")

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: datetime = Field(default_factory=utcnow)


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    project_id: str
    project_dir: str
    shots: int
    to_build: dict[str, int] = Field(default_factory=dict)
    """Per stage, how many artifacts will be (re)built."""
    cached: dict[str, int] = Field(default_factory=dict)
    paid_calls: dict[str, int] = Field(default_factory=dict)
    """Estimated paid calls per provider."""


class StoryboardReady(_Event):
    type: Literal["storyboard_ready"] = "storyboard_ready"
    shots: int
    backend: str


class StageStarted(_Event):
    type: Literal["stage_started"] = "stage_started"
    shot_id: str | None
    stage: StageName
    backend: str


class StageProgress(_Event):
    type: Literal["stage_progress"] = "stage_progress"
    shot_id: str | None
    stage: StageName
    fraction: float
    message: str = ""


class StageFinished(_Event):
    type: Literal["stage_finished"] = "stage_finished"
    shot_id: str | None
    stage: StageName
    path: str | None = None
    cached: bool = False
    seconds: float = 0.0


class StageFailed(_Event):
    type: Literal["stage_failed"] = "stage_failed"
    shot_id: str | None
    stage: StageName
    error: ErrorInfo


class StageSkipped(_Event):
    type: Literal["stage_skipped"] = "stage_skipped"
    shot_id: str | None
    stage: StageName
    reason: str


class ArtifactReady(_Event):
    type: Literal["artifact_ready"] = "artifact_ready"
    shot_id: str | None
    stage: StageName
    path: str
    media_type: str


class LogLine(_Event):
    type: Literal["log"] = "log"
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str
    shot_id: str | None = None


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    shot_id: str | None
    stage: StageName
    error: ErrorInfo


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    final_path: str | None = None
    srt_path: str | None = None
    duration: float | None = None
    failures: list[Failure] = Field(default_factory=list)
    built: dict[str, int] = Field(default_factory=dict)
    cached: dict[str, int] = Field(default_factory=dict)
    paid_calls: dict[str, int] = Field(default_factory=dict)
    """Paid calls actually made, per provider."""
    seconds: float = 0.0


Event = Annotated[
    RunStarted | StoryboardReady | StageStarted | StageProgress | StageFinished | StageFailed
    | StageSkipped | ArtifactReady | LogLine | RunFinished,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
