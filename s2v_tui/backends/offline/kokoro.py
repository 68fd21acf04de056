"""Kokoro-82M narration with word timings from the model's own duration predictor.

The model reads at most 510 phoneme tokens per call, so text is spoken one sentence at a time (a
sentence longer than that is split at a word). Each call returns the audio and one duration per
token in 25 ms frames (frames × 600 samples = the audio's length, exactly), so a word starts at its
first token's cumulative frame count — the timing subtitles need, with no forced alignment.

Only Japanese speakers' styles ship on the package index (`jf_alpha`, `jf_gongitsune`, `jf_nezumi`,
`jf_tebukuro`, `jm_kumo`): Mandarin and English are spoken with a Japanese speaker's timbre.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from s2v_tui.backends.offline import kokoro_g2p
from s2v_tui.backends.offline.kokoro_model import (
    FALLBACK_HINT,
    FRAME_SAMPLES,
    MAX_TOKENS,
    SAMPLE_RATE,
    open_session,
    voice_data,
)
from s2v_tui.backends.offline.speech import Speech, SpokenWord
from s2v_tui.domain.errors import BackendError

STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
SENTENCE_END = "。！？!?；;…\n"
SENTENCE_PAUSE = 0.3
"""Seconds of silence between sentences, after each sentence's own silence is trimmed."""
SILENCE = 0.01
"""Peak below which a sample counts as silence (the model pads every call with ~0.3 s before the
speech and ~0.7 s after it, which between sentences and at the end of a shot is dead air)."""
KEEP_BEFORE, KEEP_AFTER = 0.04, 0.12
"""Seconds of the model's own silence kept before the first and after the last audible sample."""


def sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs that cover `text` (a sentence ends after 。！？!?；;… or a newline;
    an English full stop ends one when a space follows)."""
    pattern = rf"(?<=[{re.escape(SENTENCE_END)}])|(?<=[.]\s)"
    out, offset = [], 0
    for part in re.split(pattern, text):
        if part.strip():
            out.append((offset, part))
        offset += len(part)
    return out


def word_starts(durations: list[int], words: list[tuple[int, int]], offset: float) -> list[SpokenWord]:
    """Start time of each (char_index, first token) word, from per-token durations in frames.

    `durations` covers the model's whole input, with the boundary token first: token i of the
    phoneme string is model position i + 1.
    """
    elapsed, position = [0], 0
    for frames in durations:
        position += int(frames)
        elapsed.append(position)
    return [SpokenWord(char_index=char, seconds=round(offset + elapsed[1 + token] * FRAME_SAMPLES / SAMPLE_RATE, 4))
            for char, token in words if 1 + token < len(elapsed)]


def trimmed(wave, sample_rate: int = SAMPLE_RATE) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(start, end) sample indices of `wave` (a numpy array) without its leading and trailing silence."""
    loud = (abs(wave) > SILENCE).nonzero()[0]
    if not len(loud):
        return 0, len(wave)
    return (max(0, int(loud[0]) - int(KEEP_BEFORE * sample_rate)),
            min(len(wave), int(loud[-1]) + 1 + int(KEEP_AFTER * sample_rate)))


def _chunks(ids: list[int], words: list[tuple[int, int]]) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """Split a token list longer than the model accepts at word starts."""
    if len(ids) <= MAX_TOKENS:
        return [(ids, words)]
    out, start = [], 0
    while start < len(ids):
        cut = min(len(ids), start + MAX_TOKENS)
        if cut < len(ids):
            cut = max((t for _, t in words if start < t <= cut), default=cut)
        out.append((ids[start:cut], [(c, t - start) for c, t in words if start <= t < cut]))
        start = cut
    return out


class Kokoro:
    """One loaded model; `synthesize` is blocking and meant for a worker (see `voice_worker`)."""

    def __init__(self, threads: int, english: Callable[[str], str]) -> None:
        import numpy as np

        self._np = np
        self.session = open_session(threads)
        data = voice_data()
        self.vocab, self.styles = data.vocab, data.styles
        self._english = english

    def _pieces(self, text: str, language: str) -> list[kokoro_g2p.Piece]:
        if language == "zh":
            return kokoro_g2p.mandarin(text, self._english)
        return kokoro_g2p.english(text, self._english)

    def synthesize(self, text: str, *, language: str, style: str, speed: float = 1.0) -> Speech:
        """Speak `text` ("zh" or "en"); word timings are offsets into `text`."""
        np = self._np
        if style not in self.styles:
            raise BackendError(f"the Kokoro voice has no style {style!r}",
                               hint=f"use one of {', '.join(sorted(self.styles))} ([voice] kokoro_zh / kokoro_en)")
        vectors = self.styles[style]
        audio: list[object] = []
        words: list[SpokenWord] = []
        elapsed = 0.0
        gap = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), np.float32)
        for offset, sentence in sentences(text):
            pieces = [kokoro_g2p.Piece(offset + p.char_index, p.phonemes, p.is_word)
                      for p in self._pieces(sentence, language)]
            ids, starts = kokoro_g2p.tokenize(pieces, self.vocab)
            for chunk, chunk_words in _chunks(ids, starts):
                if not chunk:
                    continue
                if audio:
                    audio.append(gap)
                    elapsed += SENTENCE_PAUSE
                try:
                    wave, durations = self.session.run(None, {
                        "tokens": np.array([[0, *chunk, 0]], np.int64),
                        "style": np.asarray(vectors[len(chunk) - 1], np.float32).reshape(1, 256),
                        "speed": np.array([speed], np.float32)})
                except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
                    raise BackendError(f"the Kokoro voice failed on {sentence.strip()[:40]!r}: {str(exc)[:160]}",
                                       hint=FALLBACK_HINT) from None
                wave = np.asarray(wave, np.float32).ravel()
                start, end = trimmed(wave)
                shift = elapsed - start / SAMPLE_RATE
                words += [SpokenWord(w.char_index, max(elapsed, w.seconds)) for w in
                          word_starts(np.asarray(durations).ravel().tolist(), chunk_words, shift)]
                audio.append(wave[start:end])
                elapsed += (end - start) / SAMPLE_RATE
        if not audio:
            raise BackendError("the narration has nothing the Kokoro voice can speak",
                               hint='write the narration in words, or set [voice] engine = "espeak"')
        samples = np.concatenate(audio)
        peak = float(np.abs(samples).max()) or 1.0
        pcm = (samples / max(1.0, peak) * 32767).astype("<i2")  # the model can overshoot ±1.0
        return Speech(samples=pcm.tobytes(), sample_rate=SAMPLE_RATE, words=words)
