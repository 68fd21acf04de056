"""The technique peers use, as a reference for benchmarks/render_offline.py (MoneyPrinterTurbo's way).

Each keyframe becomes a MoviePy `ImageClip` zoomed with `resized(lambda t: …)` inside a
`CompositeVideoClip` of the output size, the clips are concatenated, the narration is laid under
them, and `write_videofile` encodes with the same x264 settings as s2v (veryfast, crf 23, yuv420p,
2 threads). Inputs are s2v's own: its keyframes, its narration and its shot durations. It burns no
subtitles (s2v does), so the comparison flatters MoviePy.

Needs the optional `bench` extra (MoviePy caps Pillow below 12: use a venv of its own):
    pip install -e ".[bench]"
Usage: python benchmarks/moviepy_reference.py JOB.json   (written by render_offline.py)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def render(keyframes: list[str], durations: list[float], narration: str, out: str, *, width: int, height: int,
           fps: int) -> float:
    """Render the reference film; returns its wall time in seconds."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, concatenate_videoclips

    started = time.perf_counter()
    clips = []
    for path, duration in zip(keyframes, durations, strict=True):
        image = ImageClip(path).with_duration(duration)
        base = max(width / image.w, height / image.h)  # cover the frame at zoom 1.0

        def zoom(t: float, base: float = base, duration: float = duration) -> float:
            return base * (1 + 0.2 * t / duration)

        moving = image.resized(zoom).with_position("center")
        clips.append(CompositeVideoClip([moving], size=(width, height)).with_duration(duration))
    video = concatenate_videoclips(clips)
    video = video.with_audio(AudioFileClip(narration).with_duration(video.duration))
    video.write_videofile(out, fps=fps, codec="libx264", preset="veryfast", audio_codec="aac", threads=2,
                          ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p"], logger=None)
    return time.perf_counter() - started


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    seconds = render(job["keyframes"], job["durations"], job["narration"], job["out"], width=job["width"],
                     height=job["height"], fps=job["fps"])
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main()
