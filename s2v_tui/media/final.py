"""The final film: segments joined by stream copy, one continuous audio track mixed and normalised.

Video: the concat demuxer with `-c:v copy` (segments share every encoding parameter). Audio: the
segments' PCM tracks concatenated sample-exactly, optional background music looped and ducked under
the voice with `sidechaincompress`, then normalised in two passes: `ebur128` measures the mix's
integrated loudness, a linear gain brings it to the target (about −16 LUFS) and a limiter keeps peaks
under −1.5 dBFS. (`loudnorm` does the same job but resamples to 192 kHz twice: measured 6× slower.)
Audio is encoded to AAC once. Only audio is processed, so re-rendering after one shot changed costs
about a second per minute of film.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_graph

from s2v_tui.media.ffmpeg import ProgressCallback, capture_ffmpeg_stderr, compile_graph, run_ffmpeg

SILENCE_LUFS = -70.0
PEAK_LIMIT = 0.84
"""≈ −1.5 dBFS."""


@dataclass(frozen=True)
class MusicBed:
    path: Path
    volume_db: float = -14.0
    ducking: bool = True


def concat_list(paths: Sequence[Path]) -> str:
    """A concat-demuxer list; quotes in names are escaped the way the demuxer expects."""
    lines = []
    for path in paths:
        escaped = str(path).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
    return "\n".join(lines) + "\n"


def _audio_graph(narration_list: Path, music: MusicBed | None, sample_rate: int) -> Any:
    """The mixed audio stream, before loudness normalisation."""
    narration = ffmpeg_graph.input(str(narration_list), f="concat", safe=0).audio
    narration = narration.filter("aresample", sample_rate).filter("aformat", channel_layouts="stereo")
    if music is None:
        return narration
    bed = (ffmpeg_graph.input(str(music.path), stream_loop=-1).audio
           .filter("aresample", sample_rate).filter("aformat", channel_layouts="stereo")
           .filter("volume", f"{music.volume_db}dB"))
    if music.ducking:
        split = narration.asplit()
        voice, key = split[0], split[1]
        bed = ffmpeg_graph.filter([bed, key], "sidechaincompress", threshold=0.02, ratio=8, attack=20, release=400)
        narration = voice
    mixed = ffmpeg_graph.filter([narration, bed], "amix", inputs=2, duration="first", normalize=0)
    return mixed


def build_measure_argv(narration_list: Path, music: MusicBed | None, *, sample_rate: int) -> list[str]:
    audio = _audio_graph(narration_list, music, sample_rate).filter("ebur128", framelog="quiet")
    argv = compile_graph(ffmpeg_graph.output(audio, "-", f="null"))
    # The summary arrives on stderr at info level; drop our "-loglevel error".
    argv[argv.index("-loglevel") + 1] = "info"
    return argv


def parse_integrated_loudness(stderr: str) -> float | None:
    """Integrated loudness (LUFS) from ebur128's summary; None when absent or silent."""
    matches = re.findall(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf)\s*LUFS", stderr)
    if not matches or matches[-1] == "-inf":
        return None
    value = float(matches[-1])
    return value if value > SILENCE_LUFS else None


def build_final_argv(video_list: Path, narration_list: Path, music: MusicBed | None, out: Path, *,
                     sample_rate: int, gain_db: float | None) -> list[str]:
    video = ffmpeg_graph.input(str(video_list), f="concat", safe=0).video
    audio = _audio_graph(narration_list, music, sample_rate)
    if gain_db is not None:
        audio = audio.filter("volume", f"{gain_db:.2f}dB").filter("alimiter", limit=PEAK_LIMIT, level="false")
    output = ffmpeg_graph.output(video, audio, str(out), f="mp4", vcodec="copy", acodec="aac", aac_coder="fast",
                                 ar=sample_rate, movflags="+faststart", **{"b:a": "160k"})
    return compile_graph(output)


async def render_final(segments: Sequence[Path], segment_wavs: Sequence[Path], out: Path, *, workdir: Path,
                       music: MusicBed | None, sample_rate: int, target_lufs: float, total_seconds: float,
                       on_progress: ProgressCallback | None = None) -> float | None:
    """Join segments into `out`. Returns the measured loudness before normalisation (None: silent)."""
    video_list = workdir / "video.txt"
    narration_list = workdir / "audio.txt"
    video_list.write_text(concat_list(segments), encoding="utf-8")
    narration_list.write_text(concat_list(segment_wavs), encoding="utf-8")
    stderr = await capture_ffmpeg_stderr(build_measure_argv(narration_list, music, sample_rate=sample_rate),
                                         cwd=workdir, what="loudness measurement")
    measured = parse_integrated_loudness(stderr)
    gain = None if measured is None else max(-30.0, min(30.0, target_lufs - measured))
    argv = build_final_argv(video_list, narration_list, music, out, sample_rate=sample_rate, gain_db=gain)
    await run_ffmpeg(argv, cwd=workdir, total_seconds=total_seconds, on_progress=on_progress, what="final join")
    return measured
