"""Loudness: EBU R128 integrated loudness measured with ffmpeg's `ebur128`, and the gain to a target.

Each shot's narration is normalised to the target (about −16 LUFS) when its segment is encoded, so a
film of normalised shots is at the target too and the final join needs no measurement pass — which
keeps re-rendering after a one-shot edit cheap. Only a mix with background music is measured again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_graph

from s2v_tui.media.ffmpeg import capture_ffmpeg_stderr, compile_graph

SILENCE_LUFS = -70.0
MAX_GAIN_DB = 30.0
PEAK_LIMIT = 0.84
"""≈ −1.5 dBFS: the limiter ceiling after a gain (sample peak, with headroom for true peak)."""


def measure_argv(audio: Any) -> list[str]:
    """argv that prints the ebur128 summary of an ffmpeg-python audio stream to stderr."""
    argv = compile_graph(ffmpeg_graph.output(audio.filter("ebur128", framelog="quiet"), "-", f="null"))
    argv[argv.index("-loglevel") + 1] = "info"  # the summary is printed at info level
    return argv


def parse_integrated_loudness(stderr: str) -> float | None:
    """Integrated loudness (LUFS) from ebur128's summary; None when absent or silent."""
    matches = re.findall(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf)\s*LUFS", stderr)
    if not matches or matches[-1] == "-inf":
        return None
    value = float(matches[-1])
    return value if value > SILENCE_LUFS else None


async def measure_file(path: Path) -> float | None:
    stderr = await capture_ffmpeg_stderr(measure_argv(ffmpeg_graph.input(str(path)).audio), what="loudness measurement")
    return parse_integrated_loudness(stderr)


def gain_db(target_lufs: float, measured_lufs: float | None) -> float | None:
    """The gain that brings `measured` to `target` (bounded); None for silence."""
    if measured_lufs is None:
        return None
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target_lufs - measured_lufs))


def apply_gain(audio: Any, gain: float | None) -> Any:
    """Gain plus a peak limiter (so a boost never clips)."""
    if gain is None:
        return audio
    return audio.filter("volume", f"{gain:.2f}dB").filter("alimiter", limit=PEAK_LIMIT, level="false")
