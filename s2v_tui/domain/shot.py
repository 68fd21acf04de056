"""A shot: the seed's storyboard fields plus per-stage state and the assets each stage produced."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from s2v_tui.domain.camera import CameraMove, parse_camera
from s2v_tui.domain.ids import id_field


def utcnow() -> datetime:
    return datetime.now(UTC)


class Stage(StrEnum):
    """Per-shot stages, in pipeline order."""

    KEYFRAME = "keyframe"
    VOICE = "voice"
    CLIP = "clip"
    SEGMENT = "segment"


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    STALE = "stale"


class Asset(BaseModel):
    """A file a stage produced, with everything needed to know whether it is still valid."""

    model_config = ConfigDict(extra="ignore")

    path: str
    """Path relative to the project folder, POSIX separators."""
    sha256: str
    media_type: str
    backend: str
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    input_hash: str
    """Hash of every input this asset was made from (see engine.cache)."""
    created_at: datetime = Field(default_factory=utcnow)
    meta: dict[str, Any] = Field(default_factory=dict)
    """Measured facts: duration, size, subtitle cues…"""

    @field_validator("path")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        posix = PurePosixPath(value)
        if not value or "\\" in value or posix.is_absolute() or ".." in posix.parts:
            raise ValueError(f"asset path must be relative and stay inside the project: {value!r}")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"asset path contains a control character (NUL, newline…): {value!r}")
        return value


class RemoteTask(BaseModel):
    """A submitted paid task, persisted *before* polling so a restart polls it instead of paying again."""

    provider: str
    task_id: str
    input_hash: str
    """The inputs it was submitted for; a task for other inputs is never resumed."""
    submitted_at: datetime = Field(default_factory=utcnow)
    extra: dict[str, str] = Field(default_factory=dict)


USER_BACKEND = "user"
"""`Asset.backend` of a file the user brought (`s2v import`): never made by s2v, never rebuilt by it."""
MAX_TAKES = 50
"""A bound on takes per stage, so a hostile project.json cannot exhaust memory (the config keeps far fewer)."""
MAX_TAKE_PROMPT = 4000
"""A prompt built from a long detail, style and subject may be longer: a take keeps its start."""


class Take(BaseModel):
    """One result a stage produced, or a file the user brought, kept so it can be chosen again."""

    number: int = Field(ge=1)
    """Stable within its shot and stage: take 3 stays take 3 when older takes are pruned."""
    asset: Asset
    prompt: str | None = Field(default=None, max_length=MAX_TAKE_PROMPT)
    """What it was made from, for people: the image prompt, the narration, the motion prompt — or, for
    a user's file, its original name."""


class Pin(BaseModel):
    """The user chose the stage's asset (picked a take, or brought a file): it is kept, not rebuilt."""

    key: str | None = None
    """For a generated take, the digest of the shot's own content the stage is made from when it was
    chosen (`engine.takes.choice_key`): editing that content ends the choice. None for a user's file:
    kept until the stage is regenerated or another take is chosen."""


class StageState(BaseModel):
    status: StageStatus = StageStatus.PENDING
    error: str | None = None
    asset: Asset | None = None
    """The chosen take (keyframe, voice, clip) or the stage's only asset (segment)."""
    task: RemoteTask | None = None
    takes: list[Take] = Field(default_factory=list, max_length=MAX_TAKES)
    """Every kept result of the stage, oldest first (the chosen one included)."""
    pin: Pin | None = None


def _default_stages() -> dict[Stage, StageState]:
    return {stage: StageState() for stage in Stage}


class Shot(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    id: str
    sequence: int = Field(ge=1)
    subject: str = Field(default="", max_length=500)
    detail: str = Field(default="", max_length=4000)
    """Visual description; the image prompt is built from it."""
    narration: str = Field(default="", max_length=2000)
    """The spoken line (also the subtitle); a few sentences — minutes of speech is not one shot."""
    camera: CameraMove = CameraMove.PUSH_IN
    tone: str = Field(default="", max_length=100)
    image_prompt: str | None = Field(default=None, max_length=4000)
    """Overrides the prompt derived from subject/detail/style when set."""
    duration: float | None = Field(default=None, gt=0, le=120)
    """Seconds; None means narration length plus a short tail."""
    locked: bool = False
    """Locked shots survive storyboard regeneration unchanged."""
    variants: dict[Stage, int] = Field(default_factory=dict)
    """Bumped by "regenerate": part of the seed and cache key, so the stage builds something new."""
    stages: dict[Stage, StageState] = Field(default_factory=_default_stages)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        return id_field(value, what="shot id")

    @field_validator("camera", mode="before")
    @classmethod
    def _camera(cls, value: Any) -> CameraMove:
        return parse_camera(value)

    @field_validator("stages")
    @classmethod
    def _all_stages(cls, value: dict[Stage, StageState]) -> dict[Stage, StageState]:
        return {stage: value.get(stage, StageState()) for stage in Stage}

    def stage(self, stage: Stage) -> StageState:
        return self.stages[stage]
