"""The final film: segments joined by stream copy, one continuous audio track mixed and normalised.

Video: the concat demuxer with `-c:v copy` (segments share every encoding parameter). Audio: the
segments' PCM tracks concatenated sample-exactly, optional background music looped and ducked under
the voice with `sidechaincompress`. Shots arrive loudness-normalised (see `media.loudness`); only a
mix with music is measured again (`ebur128`) and corrected with a linear gain and a limiter.
(`loudnorm` does the same job but resamples to 192 kHz twice: measured 6× slower.) The sound track is
encoded to AAC once (mono when there is no music) into its own cached file, then both streams are copied
into the film: after an edit that leaves every narration as it was (a new picture, a new camera move)
the join is a pure stream copy — a fraction of a second instead of about a second per minute of film.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_graph

from s2v_tui.media.ffmpeg import ProgressCallback, capture_ffmpeg_stderr, compile_graph, run_ffmpeg
from s2v_tui.media.loudness import apply_gain, gain_db, measure_argv, parse_integrated_loudness


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
    if music is None:  # narration is mono: a mono track encodes in half the time and loses nothing
        return narration.filter("aresample", sample_rate)
    narration = narration.filter("aresample", sample_rate).filter("aformat", channel_layouts="stereo")
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
    return measure_argv(_audio_graph(narration_list, music, sample_rate))


def build_audio_argv(narration_list: Path, music: MusicBed | None, out: Path, *, sample_rate: int,
                     gain: float | None) -> list[str]:
    """The film's sound track alone, AAC in an .m4a (the slow part of a join: ~1 s per minute)."""
    audio = apply_gain(_audio_graph(narration_list, music, sample_rate), gain)
    output = ffmpeg_graph.output(audio, str(out), f="mp4", acodec="aac", aac_coder="fast", ar=sample_rate,
                                 **{"b:a": "160k"})
    return compile_graph(output)


def build_join_argv(video_list: Path, audio: Path, out: Path) -> list[str]:
    """Segments' video and the sound track, both stream-copied into the film."""
    video = ffmpeg_graph.input(str(video_list), f="concat", safe=0).video
    sound = ffmpeg_graph.input(str(audio)).audio
    output = ffmpeg_graph.output(video, sound, str(out), f="mp4", vcodec="copy", acodec="copy",
                                 movflags="+faststart")
    return compile_graph(output)


async def render_film_audio(segment_wavs: Sequence[Path], out: Path, *, workdir: Path, music: MusicBed | None,
                            sample_rate: int, target_lufs: float, total_seconds: float,
                            on_progress: ProgressCallback | None = None) -> float | None:
    """Mix the sound track into `out`. Returns the mix's loudness before correction (None without music)."""
    narration_list = workdir / "audio.txt"
    narration_list.write_text(concat_list(segment_wavs), encoding="utf-8")
    measured = gain = None
    if music is not None:  # shots are normalised already; a mix with music is measured and corrected
        stderr = await capture_ffmpeg_stderr(build_measure_argv(narration_list, music, sample_rate=sample_rate),
                                             cwd=workdir, what="loudness measurement")
        measured = parse_integrated_loudness(stderr)
        gain = gain_db(target_lufs, measured)
    argv = build_audio_argv(narration_list, music, out, sample_rate=sample_rate, gain=gain)
    await run_ffmpeg(argv, cwd=workdir, total_seconds=total_seconds, on_progress=on_progress, what="sound track")
    return measured


async def join_film(segments: Sequence[Path], audio: Path, out: Path, *, workdir: Path, total_seconds: float,
                    on_progress: ProgressCallback | None = None) -> None:
    video_list = workdir / "video.txt"
    video_list.write_text(concat_list(segments), encoding="utf-8")
    await run_ffmpeg(build_join_argv(video_list, audio, out), cwd=workdir, total_seconds=total_seconds,
                     on_progress=on_progress, what="final join")
