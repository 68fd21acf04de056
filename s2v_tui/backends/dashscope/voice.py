"""Narration from DashScope CosyVoice over its WebSocket API (`dashscope.audio.tts_v2`).

The SDK is synchronous and blocks until the task finishes, so one synthesis runs in a worker thread.
Audio is requested as raw 16-bit PCM (chunks concatenate without container headers) at a rate the
service offers, then normalised to the project's rate by `media.audio`. The word timestamps CosyVoice
sends with each sentence become `WordTiming`s (character offset into the narration + seconds), so
subtitles follow the actual speech.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from s2v_tui.backends.base import BackendInfo, StageContext, VoiceBackend, VoiceRequest, VoiceResult
from s2v_tui.backends.dashscope.client import (
    KEY_ENV,
    PROVIDER,
    api_key,
    dashscope_error,
    endpoints,
    sdk_transport_error,
)
from s2v_tui.config import DashScopeSettings, Settings
from s2v_tui.domain.errors import AuthError, BackendError, TransientError
from s2v_tui.media.audio import normalise_voice, pcm_to_segment
from s2v_tui.media.subtitles import WordTiming

PCM_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
_SDK_LOCK = threading.Lock()


def pcm_rate_for(sample_rate: int) -> int:
    """The lowest offered PCM rate at or above the project's (resampling down loses nothing audible)."""
    return next((rate for rate in PCM_RATES if rate >= sample_rate), PCM_RATES[-1])


def word_timings(text: str, sentences: list[dict[str, Any]]) -> list[WordTiming]:
    """CosyVoice sentences (`{original_text?, words:[{begin_index, begin_time}]}`) → timings in `text`."""
    timings: list[WordTiming] = []
    cursor = 0
    for sentence in sentences:
        original = str(sentence.get("original_text") or "")
        found = text.find(original, cursor) if original else -1
        offset = found if found >= 0 else cursor
        for word in sentence.get("words") or []:
            try:
                char, start = offset + int(word["begin_index"]), float(word["begin_time"]) / 1000
            except (KeyError, TypeError, ValueError):
                continue
            if 0 <= char < len(text) and (not timings or char > timings[-1].char_start):
                timings.append(WordTiming(char_start=char, start=max(start, timings[-1].start if timings else 0.0)))
        cursor = offset + len(original) if found >= 0 else cursor
    return timings


class DashScopeVoice(VoiceBackend):
    def __init__(self, settings: DashScopeSettings) -> None:
        self.settings = settings
        self.info = BackendInfo(name="dashscope", model=settings.tts_model, lane="dashscope-voice", paid_provider=PROVIDER,
                                params={"default_voice": settings.tts_voice})

    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        key = api_key(self.settings)
        rate = pcm_rate_for(request.sample_rate)
        voice = request.voice or self.settings.tts_voice
        ctx.progress(0.1, f"synthesising with {self.settings.tts_model}/{voice}")
        pcm, sentences = await asyncio.to_thread(self._synthesise, request, voice, rate, key)
        ctx.count_paid_call(PROVIDER)
        if len(pcm) < 2:
            raise TransientError("CosyVoice finished without sending audio")
        duration = await asyncio.to_thread(
            normalise_voice, pcm_to_segment(pcm[: len(pcm) // 2 * 2], rate), out, sample_rate=request.sample_rate)
        ctx.progress(1.0, "voice ready")
        return VoiceResult(duration=duration, timings=word_timings(request.text, sentences))

    def _synthesise(self, request: VoiceRequest, voice: str, rate: int, key: str) -> tuple[bytes, list[dict]]:
        import dashscope
        from dashscope.audio.tts_v2 import AudioFormat, ResultCallback, SpeechSynthesizer
        from dashscope.common.error import RequestFailure

        class Collector(ResultCallback):
            def __init__(self) -> None:
                self.audio = bytearray()
                self.sentences: dict[int, dict[str, Any]] = {}
                self.failure: dict[str, Any] | None = None

            def on_event(self, message: str) -> None:
                output = (json.loads(message).get("payload") or {}).get("output") or {}
                sentence = output.get("sentence")
                if isinstance(sentence, dict) and sentence.get("words"):
                    entry = self.sentences.setdefault(int(sentence.get("index", len(self.sentences))), {})
                    entry["words"] = sentence["words"]
                    entry["original_text"] = output.get("original_text") or entry.get("original_text", "")

            def on_data(self, data: bytes) -> None:
                self.audio += data

            def on_error(self, message: str) -> None:
                try:
                    self.failure = json.loads(message).get("header") or {}
                except (TypeError, ValueError):
                    self.failure = {"error_message": str(message)[:300]}

        class Synthesizer(SpeechSynthesizer):
            handshake_error: BaseException | None = None

            def on_error(self, ws, error):  # type: ignore[no-untyped-def]  # websocket-client callback
                self.handshake_error = error
                super().on_error(ws, error)

        collector = Collector()
        audio_format = getattr(AudioFormat, f"PCM_{rate}HZ_MONO_16BIT")
        with _SDK_LOCK:  # the SDK insists on a module-level key; the header below is what is sent
            dashscope.api_key = key
            synthesizer = Synthesizer(model=self.settings.tts_model, voice=voice, format=audio_format,
                                      speech_rate=min(2.0, max(0.5, request.rate)), callback=collector,
                                      url=endpoints(self.settings).websocket,
                                      headers={"Authorization": f"Bearer {key}"})
        try:
            synthesizer.streaming_call(request.text)
            synthesizer.streaming_complete(complete_timeout_millis=int(self.settings.request_timeout * 1000))
        except RequestFailure as exc:
            raise self._task_error(str(exc.name or ""), str(exc.message or ""), voice) from None
        except (TimeoutError, ConnectionError, OSError) as exc:
            status = getattr(synthesizer.handshake_error, "status_code", None)
            if status in (401, 403):
                raise AuthError(f"CosyVoice refused the connection (HTTP {status})",
                                hint=f"set a valid {KEY_ENV}; keys only work in their own region") from None
            raise sdk_transport_error(exc, "speech synthesis") from None
        finally:
            synthesizer.close()
        if collector.failure is not None:
            raise self._task_error(str(collector.failure.get("error_code") or ""),
                                   str(collector.failure.get("error_message") or "task failed"), voice)
        return bytes(collector.audio), [collector.sentences[i] for i in sorted(collector.sentences)]

    def _task_error(self, code: str, message: str, voice: str) -> BackendError:
        """A `task-failed` event: server-side failures are retried, a wrong voice says what to fix."""
        if code == "InvalidParameter":
            return BackendError(f"CosyVoice: {message}",
                                hint=f"check that the voice {voice!r} belongs to {self.settings.tts_model} "
                                     "([dashscope] tts_voice / the project's voice)")
        status = 500 if code.startswith("InternalError") or not code else 400
        return dashscope_error(status, code, message)  # type: ignore[return-value]


def create(settings: Settings) -> DashScopeVoice:
    return DashScopeVoice(settings.dashscope)
