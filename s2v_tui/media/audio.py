"""Narration audio: decode, normalise format, add headroom and measure, with pydub.

Every voice asset is stored as 16-bit PCM WAV at the render sample rate, mono, so segment encodes and
the final mix read one predictable format. pydub's converter is pointed at the bundled ffmpeg and a
codec is always named, so pydub never looks for the ffprobe that pip's ffmpeg does not ship.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from s2v_tui.domain.errors import MediaError
from s2v_tui.media.ffmpeg import ffmpeg_exe

with warnings.catch_warnings():  # pydub warns about audioop (3.13) and a missing PATH ffmpeg at import
    warnings.simplefilter("ignore")
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

AudioSegment.converter = ffmpeg_exe()

HEADROOM_DB = -3.0
"""espeak-ng and some TTS services peak at 0 dBFS; the final loudness pass restores level."""

_CODEC_BY_SUFFIX = {".mp3": "mp3", ".ogg": "libopus", ".opus": "libopus", ".m4a": "aac", ".aac": "aac",
                    ".flac": "flac"}


def load_audio(path: Path) -> AudioSegment:
    """Decode any audio file (WAV natively, others through ffmpeg).

    Raises:
        MediaError: the bytes are not decodable audio.
    """
    try:
        if path.suffix.lower() == ".wav":
            return AudioSegment.from_wav(str(path))
        codec = _CODEC_BY_SUFFIX.get(path.suffix.lower())
        if codec is None:
            raise MediaError(f"{path.name}: unsupported audio type {path.suffix!r}")
        return AudioSegment.from_file(str(path), codec=codec)
    except (CouldntDecodeError, IndexError, ValueError, EOFError, OSError) as exc:
        # OSError: for a WAV that its own reader rejects, pydub falls back to ffprobe, which pip's
        # ffmpeg does not ship — that is a broken file, not a missing tool.
        raise MediaError(f"{path.name} is not decodable audio: {str(exc)[:200]}") from None


def pcm_to_segment(samples: bytes, sample_rate: int, *, channels: int = 1) -> AudioSegment:
    return AudioSegment(data=samples, sample_width=2, frame_rate=sample_rate, channels=channels)


def normalise_voice(audio: AudioSegment, out: Path, *, sample_rate: int) -> float:
    """Write `audio` as mono 16-bit WAV at `sample_rate` with headroom; returns its duration (s)."""
    if len(audio) < 50:
        raise MediaError("the voice audio is empty", hint="check the shot's narration text and the voice backend")
    voice = audio.set_channels(1).set_sample_width(2).set_frame_rate(sample_rate)
    peak = voice.max_dBFS
    if peak > HEADROOM_DB:
        voice = voice.apply_gain(HEADROOM_DB - peak)
    voice.export(str(out), format="wav")
    return voice.frame_count() / sample_rate


def wav_duration(path: Path) -> float:
    audio = AudioSegment.from_wav(str(path))
    return audio.frame_count() / audio.frame_rate
