"""Backend contracts: what each stage asks of a provider, and what the engine offers back.

A backend is small: it turns one request into one file (or a list of shot drafts) and says who it
is (`info`, part of every cache key). Everything cross-cutting lives in the engine and reaches the
backend through `StageContext`: progress, logging, persisting a submitted task before polling
(`remember_task`), counting paid calls, cancellation. Backends raise `S2VError` subclasses:
`TransientError` is retried by the engine, everything else fails the shot with its message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from s2v_tui.domain.camera import CameraMove, parse_camera
from s2v_tui.domain.project import Language
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.kenburns import MotionPlan
from s2v_tui.media.subtitles import WordTiming


@dataclass(frozen=True)
class BackendInfo:
    name: str
    """Registry name, e.g. "offline", "dashscope"."""
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """Everything besides the request that changes the output (goes into cache keys)."""
    lane: str = "cpu"
    """Concurrency lane this backend's calls queue in."""
    paid_provider: str | None = None
    """Provider billed per call, for cost estimates; None = free."""


class StageContext(Protocol):
    """What the engine gives a backend for one stage of one shot."""

    project_id: str
    """Names remote objects per project (e.g. OSS keys), so projects never share one."""
    shot_id: str
    input_hash: str
    workdir: Path
    """Scratch folder on the project's filesystem, removed after the stage."""
    @property
    def pending_task(self) -> RemoteTask | None:
        """A task submitted earlier for exactly these inputs: poll it instead of submitting again."""

    def progress(self, fraction: float, message: str = "") -> None: ...

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None: ...

    async def remember_task(self, task: RemoteTask) -> None:
        """Persist a submitted task id in project.json *before* polling it."""

    async def forget_task(self) -> None:
        """Drop the remembered task (it failed or expired; the next attempt submits anew)."""

    def count_paid_call(self, provider: str) -> None: ...


class ShotDraft(BaseModel):
    """A storyboard shot as a storyboard backend proposes it (validated, before ids are assigned)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=200)
    detail: str = Field(min_length=1, max_length=2000)
    narration: str = Field(min_length=1, max_length=400)
    camera: CameraMove
    tone: str = Field(default="", max_length=50)

    @field_validator("camera", mode="before")
    @classmethod
    def _camera(cls, value: Any) -> CameraMove:
        return parse_camera(value)


@dataclass(frozen=True)
class StoryboardRequest:
    script: str
    style: str
    language: Language
    min_shots: int = 6
    max_shots: int = 10
    max_narration_seconds: float = 12.0
    """Longest narration one shot may carry, at a comfortable listening/reading speed."""

    @property
    def max_narration_units(self) -> int:
        """The limit in display units (CJK char = 2): ~4.5 Chinese characters or ~15 Latin letters a second."""
        return int(self.max_narration_seconds * (9 if self.language == "zh" else 15))


@dataclass(frozen=True)
class KeyframeRequest:
    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    style: str
    language: Language
    sequence: int
    subject: str
    detail: str
    narration: str


@dataclass(frozen=True)
class ClipRequest:
    keyframe: Path
    prompt: str
    camera: CameraMove
    duration: float
    """Seconds the shot lasts (narration + tail); providers clamp to what the model accepts."""
    width: int
    height: int
    fps: int
    seed: int
    sequence: int


@dataclass(frozen=True)
class ClipResult:
    kind: Literal["video", "motion"]
    motion: MotionPlan | None = None
    """For kind "motion": the Ken-Burns plan (the engine stores it as the clip asset)."""


@dataclass(frozen=True)
class VoiceRequest:
    text: str
    language: Language
    voice: str | None
    rate: float
    sample_rate: int
    tone: str = ""


@dataclass(frozen=True)
class VoiceResult:
    duration: float
    timings: list[WordTiming] = field(default_factory=list)
    """Word/sentence start times keyed by character offset in `text`; empty = spread evenly."""


class Backend(ABC):
    """Common lifecycle. Subclasses set `info`."""

    info: BackendInfo

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""


class StoryboardBackend(Backend):
    @abstractmethod
    async def storyboard(self, request: StoryboardRequest, ctx: StageContext) -> list[ShotDraft]:
        """Split a script into shot drafts (between min_shots and max_shots for a typical story)."""


class KeyframeBackend(Backend):
    @abstractmethod
    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        """Write the keyframe image (PNG or JPEG) to `out`."""


class ClipBackend(Backend):
    def duration_for(self, seconds: float) -> float:
        """The clip length this backend will produce for a shot of `seconds` (models clamp it)."""
        return seconds

    @abstractmethod
    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        """Write an MP4 to `out` (kind "video"), or return a motion plan (kind "motion")."""


class VoiceBackend(Backend):
    @abstractmethod
    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        """Write narration as mono 16-bit WAV at `request.sample_rate` to `out`."""
