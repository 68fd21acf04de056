"""Offline narration: espeak-ng (Mandarin `cmn`, English `en-us`) with word timings for subtitles."""

from __future__ import annotations

import asyncio
from pathlib import Path

from s2v_tui.backends.base import BackendInfo, StageContext, VoiceBackend, VoiceRequest, VoiceResult
from s2v_tui.backends.offline.espeak import Espeak
from s2v_tui.backends.offline.textnorm import speakable_zh
from s2v_tui.config import VoiceDefaults
from s2v_tui.domain.errors import BadInputError
from s2v_tui.media.audio import normalise_voice, pcm_to_segment
from s2v_tui.media.subtitles import WordTiming


class OfflineVoice(VoiceBackend):
    def __init__(self, defaults: VoiceDefaults) -> None:
        self.defaults = defaults
        self.info = BackendInfo(name="offline", model="espeak-ng", lane="cpu",
                                params={"zh": defaults.zh, "en": defaults.en, "wpm": defaults.words_per_minute})

    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        text = request.text.strip()
        if not text:
            raise BadInputError("this shot has no narration to speak", hint="write a narration line for it")
        voice = request.voice or (self.defaults.zh if request.language == "zh" else self.defaults.en)
        spoken, index_map = speakable_zh(request.text) if request.language == "zh" else (
            request.text, list(range(len(request.text))))
        wpm = round(self.defaults.words_per_minute * request.rate)
        speech = await asyncio.to_thread(Espeak.instance().synthesize, spoken, voice=voice, words_per_minute=wpm)
        duration = await asyncio.to_thread(
            normalise_voice, pcm_to_segment(speech.samples, speech.sample_rate), out, sample_rate=request.sample_rate)
        timings = [WordTiming(char_start=index_map[min(w.char_index, len(index_map) - 1)], start=w.seconds)
                   for w in speech.words if index_map]
        return VoiceResult(duration=duration, timings=timings)
