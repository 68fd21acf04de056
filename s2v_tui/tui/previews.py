"""Pictures for the keyframe preview: the keyframe and a clip's first and last frames, small and in memory.

Everything here reads files and decodes media, so the session calls it in a thread; widgets only get
the resulting PIL images. A broken or missing file never raises: the preview says what is missing.
No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from s2v_tui.domain.project import VideoFormat

PREVIEW_PIXELS = 320
"""Longest side of a preview picture: plenty for a terminal pane (even with Sixel), cheap to scale."""


@dataclass(frozen=True)
class Preview:
    """What the keyframe preview shows for one shot."""

    shot_id: str
    keyframe: Image.Image | None = None
    first: Image.Image | None = None
    last: Image.Image | None = None
    notes: list[str] = field(default_factory=list)
    """Human-readable remarks: what is missing or could not be decoded."""


def _small(image: Image.Image, limit: int) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    return image


def _fit(fmt: VideoFormat, limit: int) -> tuple[int, int]:
    scale = min(1.0, limit / max(fmt.width, fmt.height))
    return max(2, round(fmt.width * scale)), max(2, round(fmt.height * scale))


def motion_frames(keyframe: Path, plan_file: Path, fmt: VideoFormat, limit: int) -> tuple[Image.Image, Image.Image]:
    """First and last frame of an offline motion-plan clip, rendered exactly as the segment encode will."""
    from s2v_tui.media.kenburns import MotionPlan, MotionRenderer

    plan = MotionPlan.model_validate_json(plan_file.read_text(encoding="utf-8"))
    renderer = MotionRenderer(keyframe, plan, _fit(fmt, limit), fmt.fps)
    return renderer.frame(0), renderer.frame(renderer.frame_count - 1)


def video_frames(clip: Path, limit: int) -> tuple[Image.Image, Image.Image]:
    """First and last decodable frame of a video file (PyAV; seeks near the end instead of decoding all)."""
    import av

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream)).to_image()
        last = first
        if stream.duration and stream.time_base:
            target = max(0, int(stream.duration - 1.0 / stream.time_base))
            container.seek(target, stream=stream, backward=True)
        for frame in container.decode(stream):
            last = frame.to_image()
    return _small(first, limit), _small(last, limit)


def load_preview(shot_id: str, keyframe: Path | None, clip: Path | None, clip_kind: str | None,
                 fmt: VideoFormat, limit: int = PREVIEW_PIXELS) -> Preview:
    """Load what exists; every failure becomes a note instead of an exception."""
    notes: list[str] = []
    still = first = last = None
    if keyframe is None:
        notes.append("no keyframe yet")
    else:
        try:
            with Image.open(keyframe) as opened:
                still = _small(opened, limit)
        except (OSError, ValueError) as exc:
            notes.append(f"keyframe unreadable: {exc}")
    if clip is not None:
        try:
            if clip_kind == "motion":
                if keyframe is None:
                    raise ValueError("the motion clip needs its keyframe")
                first, last = motion_frames(keyframe, clip, fmt, limit)
            else:
                first, last = video_frames(clip, limit)
        except Exception as exc:  # noqa: BLE001 - a bad clip must not take the preview (or the app) down
            notes.append(f"clip frames unavailable: {type(exc).__name__}: {exc}")
    return Preview(shot_id=shot_id, keyframe=still, first=first, last=last, notes=notes)
