"""Request and response bodies, field for field those of the original service (`app_api/models/
schemas.py`), plus the operation and story views it never had. Ids are validated here, so a `../`
never reaches a path: the answer is the original's 422 `{"code": "VALIDATION_ERROR", "errors": […]}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from s2v_tui.domain.events import ErrorInfo, Failure
from s2v_tui.domain.ids import id_field
from s2v_tui.domain.operation import OperationKind, OperationState, Status

Id = Annotated[str, Field(min_length=1, max_length=64, examples=["story-001"]),
               AfterValidator(lambda value: id_field(value, what="id"))]
Text = Annotated[str, Field(max_length=4000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class OperationStatus(BaseModel):
    operation_id: str
    status: Status
    """"Success", "Running" or "Failed" — and true: a partial result is "Failed", `detail` says why."""
    detail: str | None = None


class Shot(BaseModel):
    id: str
    sequence: int
    subject: str | None = None
    detail: str | None = None
    camera: str | None = None
    narration: str | None = None
    tone: str | None = None
    image_url: str | None = None
    video_url: str | None = None


class CreateStoryboardRequest(_Request):
    operation_id: Id
    story_id: Id
    user_id: Id
    display_name: str = Field(max_length=200)
    script_content: str = Field(max_length=100_000)
    style: str = Field(max_length=500)


class CreateStoryboardResponse(BaseModel):
    operation: OperationStatus
    shots: list[Shot] = Field(default_factory=list)


class RegenerateShotRequest(_Request):
    operation_id: Id
    story_id: Id
    shot_id: Id
    user_id: Id
    subject: str | None = Field(default=None, max_length=500)
    detail: Text | None = None
    details: Text | None = None
    prompt: Text | None = None
    camera: str | None = Field(default=None, max_length=100)
    narration: str | None = Field(default=None, max_length=2000)
    tone: str | None = Field(default=None, max_length=100)
    style: str | None = Field(default=None, max_length=500)

    def new_detail(self) -> str | None:
        """The first non-empty of detail, details, prompt (the original's order)."""
        return next((text for text in (self.detail, self.details, self.prompt) if text), None)


class RegenerateShotResponse(BaseModel):
    operation: OperationStatus
    shot: Shot | None = None


class ShotEdit(_Request):
    """A shot in a render request: its id, and the fields to change (image_url/video_url are accepted
    and ignored: s2v never fetches a URL a client sends)."""

    id: Id
    sequence: int | None = None
    subject: str | None = Field(default=None, max_length=500)
    detail: Text | None = None
    camera: str | None = Field(default=None, max_length=100)
    narration: str | None = Field(default=None, max_length=2000)
    tone: str | None = Field(default=None, max_length=100)
    image_url: str | None = None
    video_url: str | None = None


class RenderVideoRequest(_Request):
    operation_id: Id
    story_id: Id
    user_id: Id
    shots: list[ShotEdit] | None = Field(default=None, max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _operation_id_from_operation(cls, data: Any) -> Any:
        """app_api also took the id from a nested `operation: {operation_id}`."""
        if isinstance(data, dict) and not data.get("operation_id") and isinstance(data.get("operation"), dict):
            data = {**data, "operation_id": data["operation"].get("operation_id")}
        return data


class RenderVideoResponse(BaseModel):
    operation: OperationStatus
    video_url: str | None = None
    """The film; null unless it exists and is complete (never a link to a file that is not there)."""


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None
    errors: list[dict[str, Any]] | None = None
    operation: OperationStatus | None = None


class StageProgress(BaseModel):
    total: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0


class OperationView(BaseModel):
    operation_id: str
    kind: OperationKind
    user_id: str
    story_id: str
    status: Status
    state: OperationState
    detail: str | None = None
    created_at: datetime
    updated_at: datetime
    progress: dict[str, StageProgress] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)
    error: ErrorInfo | None = None
    result: dict[str, Any] | None = None
    """Once finished: the body the POST answered (or would have), with fresh links."""
    links: dict[str, str] = Field(default_factory=dict)


class StageView(BaseModel):
    status: str
    error: str | None = None


class StoryShot(Shot):
    stages: dict[str, StageView] = Field(default_factory=dict)


class StorySummary(BaseModel):
    story_id: str
    user_id: str
    display_name: str
    style: str
    shot_count: int
    status: Status | None
    """The last operation's status (None: no operation yet)."""
    video_url: str | None = None
    updated_at: datetime


class StoryList(BaseModel):
    user_id: str
    stories: list[StorySummary]


class StoryView(StorySummary):
    script_content: str
    shots: list[StoryShot] = Field(default_factory=list)
    operations: list[str] = Field(default_factory=list)
    """Operation ids on this story, oldest first."""
