"""Offline narration: Kokoro-82M (neural) or espeak-ng (formant), both with word timings for subtitles.

`[voice] engine` picks the engine; "auto" takes the one benchmarks/asr_offline.py measured most
intelligible for the project's language (`AUTO`). A project's own voice name overrides it: a Kokoro
style (jf_alpha…) speaks with Kokoro, any other name is an espeak-ng voice (cmn, en-us…). Kokoro runs
in a worker process (`voice_worker`); espeak-ng, ~100× faster than real time, in a thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from s2v_tui.backends.base import BackendInfo, StageContext, VoiceBackend, VoiceRequest, VoiceResult
from s2v_tui.backends.offline import voice_worker
from s2v_tui.backends.offline.espeak import Espeak
from s2v_tui.backends.offline.kokoro import STYLES
from s2v_tui.backends.offline.kokoro_model import MODEL_SHA256
from s2v_tui.backends.offline.speech import Speech
from s2v_tui.backends.offline.textnorm import speakable_zh
from s2v_tui.config import VoiceDefaults
from s2v_tui.domain.errors import BadInputError
from s2v_tui.media.audio import normalise_voice, pcm_to_segment
from s2v_tui.media.subtitles import WordTiming

AUTO = {"zh": "kokoro", "en": "kokoro"}
"""Engine per language for `engine = "auto"`, by the error rates Whisper base reads back from the bundled
stories (benchmarks/asr_offline.py, README): Chinese pinyin syllables Kokoro 0.040 vs espeak-ng 0.56–0.64,
English words Kokoro 0.031 vs espeak-ng 0.14–0.16 (and piper + joe 0.056, not an engine: see README)."""
LANE = "offline-voice"
"""Its own lane (width 2, the engine's default): a voice queued for the single Kokoro worker must not
hold one of the painters' "cpu" slots, and painting and encoding go on while the worker speaks."""


class OfflineVoice(VoiceBackend):
    def __init__(self, defaults: VoiceDefaults) -> None:
        self.defaults = defaults
        engines = {language: self.engine_for(language, None) for language in ("zh", "en")}
        params: dict[str, object] = {"engine": engines, "zh": defaults.zh, "en": defaults.en,
                                     "wpm": defaults.words_per_minute}
        if "kokoro" in engines.values():
            params |= {"kokoro_zh": defaults.kokoro_zh, "kokoro_en": defaults.kokoro_en,
                       "kokoro_model": MODEL_SHA256[:16]}
        self.info = BackendInfo(name="offline", model="kokoro-82m-v1.0-int8" if "kokoro" in engines.values()
                                else "espeak-ng", lane=LANE, params=params)

    def engine_for(self, language: str, voice: str | None) -> str:
        if voice:
            return "kokoro" if voice in STYLES else "espeak"
        return AUTO.get(language, "espeak") if self.defaults.engine == "auto" else self.defaults.engine

    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        text = request.text.strip()
        if not text:
            raise BadInputError("this shot has no narration to speak", hint="write a narration line for it")
        spoken, index_map = speakable_zh(request.text) if request.language == "zh" else (
            request.text, list(range(len(request.text))))
        if self.engine_for(request.language, request.voice) == "kokoro":
            style = request.voice or (self.defaults.kokoro_zh if request.language == "zh" else self.defaults.kokoro_en)
            speech = await voice_worker.speak(spoken, language=request.language, style=style, speed=request.rate,
                                              threads=self.defaults.kokoro_threads)
        else:
            speech = await asyncio.to_thread(self._espeak, spoken, request)
        duration = await asyncio.to_thread(
            normalise_voice, pcm_to_segment(speech.samples, speech.sample_rate), out, sample_rate=request.sample_rate)
        timings = [WordTiming(char_start=index_map[min(w.char_index, len(index_map) - 1)], start=w.seconds)
                   for w in speech.words if index_map]
        return VoiceResult(duration=duration, timings=timings)

    def _espeak(self, spoken: str, request: VoiceRequest) -> Speech:
        voice = request.voice or (self.defaults.zh if request.language == "zh" else self.defaults.en)
        return Espeak.instance().synthesize(spoken, voice=voice,
                                            words_per_minute=round(self.defaults.words_per_minute * request.rate))
