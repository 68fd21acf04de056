"""Probing and verifying media without ffprobe (imageio-ffmpeg ships none): PyAV for audio/video,
Pillow for images.

`verify_*` functions are how the engine refuses broken provider output: a truncated MP4 (no moov
atom, or no decodable first/last frame), an HTML error page saved as .png, an empty audio file.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from s2v_tui.domain.errors import MediaError


@dataclass(frozen=True)
class VideoStreamInfo:
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    sample_rate: int
    channels: int
    duration: float


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    video: list[VideoStreamInfo]
    audio: list[AudioStreamInfo]


def _seconds(value: int | None, time_base: Fraction | None) -> float:
    if value is None or time_base is None:
        return 0.0
    return float(value * time_base)


def probe(path: Path) -> MediaInfo:
    """Container duration and per-stream facts.

    Raises:
        MediaError: the file cannot be opened as media.
    """
    try:
        with av.open(str(path)) as container:
            duration = container.duration / av.time_base if container.duration else 0.0
            videos = [
                VideoStreamInfo(
                    codec=s.codec_context.name,
                    width=s.codec_context.width,
                    height=s.codec_context.height,
                    fps=float(s.average_rate or 0),
                    frames=int(s.frames or 0),
                    duration=_seconds(s.duration, s.time_base),
                )
                for s in container.streams.video
            ]
            audios = [
                AudioStreamInfo(
                    codec=s.codec_context.name,
                    sample_rate=int(s.codec_context.sample_rate or 0),
                    channels=int(s.codec_context.channels or 0),
                    duration=_seconds(s.duration, s.time_base),
                )
                for s in container.streams.audio
            ]
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read media {path.name}: {exc}") from None
    return MediaInfo(duration=duration, video=videos, audio=audios)


def verify_video(path: Path, *, min_duration: float = 0.1) -> MediaInfo:
    """Probe and decode the first and the last frame; raises MediaError for a broken file."""
    info = probe(path)
    if not info.video:
        raise MediaError(f"{path.name} has no video stream")
    if info.duration < min_duration:
        raise MediaError(f"{path.name} is too short ({info.duration:.2f}s)")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            next(container.decode(stream))
            if stream.duration and stream.time_base:
                container.seek(int(stream.duration * 0.9), stream=stream)
                last = None
                for last in container.decode(stream):  # noqa: B007 - decode to the end
                    pass
                if last is None:
                    raise MediaError(f"{path.name}: no frame decodes near the end (truncated?)")
    except StopIteration:
        raise MediaError(f"{path.name}: no decodable video frame") from None
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} does not decode: {exc}") from None
    return info


def verify_audio(path: Path, *, min_duration: float = 0.05) -> MediaInfo:
    info = probe(path)
    if not info.audio:
        raise MediaError(f"{path.name} has no audio stream")
    if max(info.duration, info.audio[0].duration) < min_duration:
        raise MediaError(f"{path.name} is empty or too short")
    return info


def verify_image(path: Path, *, expected_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Fully decode an image; optionally check its size. Returns (width, height)."""
    try:
        with Image.open(path) as image:
            image.load()
            size = image.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise MediaError(f"{path.name} is not a readable image: {exc}") from None
    if expected_size and size != tuple(expected_size):
        raise MediaError(f"{path.name} is {size[0]}x{size[1]}, expected {expected_size[0]}x{expected_size[1]}")
    return size
