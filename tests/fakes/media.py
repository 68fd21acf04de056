"""Real media bytes for the fakes: PNG via Pillow, MP4/MP3/WAV via the bundled ffmpeg binary.

Results are cached per parameter set so a fake answering many requests pays ffmpeg once.
"""

from __future__ import annotations

import functools
import io
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    """A PNG of the requested size whose colours depend on `seed` (different prompts look different)."""
    img = Image.new("RGB", (width, height), ((seed * 53) % 256, (seed * 97) % 256, (seed * 31 + 90) % 256))
    draw = ImageDraw.Draw(img)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(240, 220, 120))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _ffmpeg_to_bytes(args: list[str], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out{suffix}"
        subprocess.run([FFMPEG, "-v", "error", "-y", *args, str(out)], check=True)
        return out.read_bytes()


@functools.lru_cache(maxsize=32)
def mp4_bytes(width: int = 320, height: int = 240, seconds: float = 1.0, fps: int = 16) -> bytes:
    """A small H.264 MP4 (test pattern, no audio)."""
    return _ffmpeg_to_bytes(
        ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        ".mp4",
    )


@functools.lru_cache(maxsize=32)
def mp3_bytes(seconds: float = 1.0, sample_rate: int = 22050) -> bytes:
    """An MP3 tone of the given length."""
    return _ffmpeg_to_bytes(
        ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={sample_rate}:duration={seconds}",
         "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"],
        ".mp3",
    )


@functools.lru_cache(maxsize=32)
def wav_bytes(seconds: float = 1.0, sample_rate: int = 22050) -> bytes:
    """A 16-bit mono PCM WAV tone of the given length."""
    return _ffmpeg_to_bytes(
        ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={sample_rate}:duration={seconds}",
         "-ac", "1", "-c:a", "pcm_s16le"],
        ".wav",
    )
