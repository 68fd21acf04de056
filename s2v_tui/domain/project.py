"""The project: script, look and sound settings, shots and the render state. Pure data, no I/O."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from s2v_tui.domain.ids import id_field
from s2v_tui.domain.shot import Asset, Shot, StageState, utcnow

SCHEMA_VERSION = 2
MAX_SHOTS = 500
"""Far more than a film of 6–10 shots needs; a bound so a hostile project.json cannot exhaust memory."""
MAX_SCRIPT_CHARS = 1_000_000

Language = Literal["zh", "en"]

ASPECT_PRESETS: dict[str, tuple[int, int]] = {
    "9:16": (720, 1280),
    "16:9": (1280, 720),
    "1:1": (1080, 1080),
}


MIN_SIDE, MAX_SIDE = 64, 4096


def parse_size(value: str) -> tuple[int, int]:
    """Accept an aspect preset ("9:16"), "720x1280" or the seed's "928*1664" (ASCII digits, even sides
    from 64 to 4096).

    Raises:
        ValueError: saying what is accepted.
    """
    text = str(value).strip().lower()
    if text in ASPECT_PRESETS:
        return ASPECT_PRESETS[text]
    match = re.fullmatch(r"(\d{1,6})\s*[x*×]\s*(\d{1,6})", text, re.ASCII)
    if not match:
        raise ValueError(f"size {value!r} is not an aspect (9:16, 16:9, 1:1) or WIDTHxHEIGHT such as 720x1280")
    width, height = int(match[1]), int(match[2])
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"size {value!r}: width and height must be between {MIN_SIDE} and {MAX_SIDE} pixels")
    if width % 2 or height % 2:
        raise ValueError(f"size {value!r} must have even width and height (H.264 needs it)")
    return width, height


def detect_language(text: str) -> Language:
    """"zh" when CJK characters make up a real share of the letters, else "en"."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk and cjk * 3 >= latin else "en"


class VideoFormat(BaseModel):
    width: int = Field(default=720, ge=MIN_SIDE, le=MAX_SIDE)
    height: int = Field(default=1280, ge=MIN_SIDE, le=MAX_SIDE)
    fps: int = Field(default=30, ge=5, le=60)

    @model_validator(mode="after")
    def _even(self) -> VideoFormat:
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even")
        return self

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}"


class VoiceSettings(BaseModel):
    name: str | None = None
    """Backend voice id (e.g. "cmn" for espeak, "longxiaochun_v2" for CosyVoice); None = backend default."""
    rate: float = Field(default=1.0, ge=0.5, le=2.0)
    """Speaking-rate multiplier."""


class SubtitleSettings(BaseModel):
    enabled: bool = True
    font_scale: float = Field(default=1.0, ge=0.5, le=2.0)


class MusicSettings(BaseModel):
    path: str | None = None
    """Background music, a path inside the project folder (`--music` copies the file into assets/music/);
    None = no music."""
    volume_db: float = Field(default=-14.0, ge=-40, le=0)
    ducking: bool = True


class RenderState(BaseModel):
    state: StageState = Field(default_factory=StageState)
    audio: Asset | None = None
    """The film's sound track (AAC), kept so a join after a picture-only edit is a pure stream copy."""
    srt: Asset | None = None
    duration: float | None = None
    rendered_at: datetime | None = None


class Project(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    id: str
    title: str = Field(max_length=200)
    script: str = Field(default="", max_length=MAX_SCRIPT_CHARS)
    style: str = Field(default="", max_length=500)
    """Visual style applied to every shot (e.g. "水彩插画", "cinematic photo")."""
    language: Language = "zh"
    format: VideoFormat = Field(default_factory=VideoFormat)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    subtitles: SubtitleSettings = Field(default_factory=SubtitleSettings)
    music: MusicSettings = Field(default_factory=MusicSettings)
    shots: list[Shot] = Field(default_factory=list, max_length=MAX_SHOTS)
    storyboard: StageState = Field(default_factory=StageState)
    render: RenderState = Field(default_factory=RenderState)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        return id_field(value, what="project id")

    @field_validator("shots")
    @classmethod
    def _unique_ids(cls, shots: list[Shot]) -> list[Shot]:
        seen: set[str] = set()
        for shot in shots:
            if shot.id in seen:
                raise ValueError(f"duplicate shot id {shot.id!r}")
            seen.add(shot.id)
        return shots

    def shot(self, shot_id: str) -> Shot:
        for shot in self.shots:
            if shot.id == shot_id:
                return shot
        raise KeyError(shot_id)

    def renumber(self) -> None:
        """Make `sequence` follow list order (after reorder/insert/delete)."""
        for index, shot in enumerate(self.shots, start=1):
            if shot.sequence != index:
                shot.sequence = index

    def next_shot_id(self) -> str:
        taken = {shot.id for shot in self.shots}
        number = len(self.shots) + 1
        while f"shot_{number:02d}" in taken:
            number += 1
        return f"shot_{number:02d}"
