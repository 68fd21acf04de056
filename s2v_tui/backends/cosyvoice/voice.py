"""Narration from a self-hosted CosyVoice HTTP server (`COSYVOICE_URL`, e.g. http://localhost:9233/v1/tts).

The request is the seed's: JSON `{text, speaker, speed[, style]}`. The answer is either the audio file
itself (`response = "audio"`) or JSON carrying it base64-encoded (`"json_base64"`, field `audio_field`).
The seed wrote whatever came back straight to disk, unchecked; here the bytes must look like audio
(content type and magic number), must decode, and are normalised to mono 16-bit WAV at the render
sample rate. An HTML error page or other garbage fails with what the server actually sent.
CosyVoice gives no word timings, so subtitles are spread evenly (empty `timings`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from pathlib import Path
from typing import Any

import httpx

from s2v_tui.backends.base import BackendInfo, StageContext, VoiceBackend, VoiceRequest, VoiceResult
from s2v_tui.backends.http import LoopBoundClient, checked_json, error_for_status, transport_error
from s2v_tui.config import CosyVoiceLocalSettings, Settings
from s2v_tui.domain.errors import BackendError, BadInputError, ConfigError, MediaError, TransientError
from s2v_tui.media.audio import load_audio, normalise_voice, pcm_to_segment

PROVIDER = "CosyVoice"
HINT = "check COSYVOICE_URL (the TTS endpoint itself) and [cosyvoice] response (audio or json_base64)"


def sniff_suffix(data: bytes) -> str | None:
    """The file type of audio bytes from their magic number, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return ".wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return ".mp3"
    if data[:4] == b"OggS":
        return ".ogg"
    if data[:4] == b"fLaC":
        return ".flac"
    if data[4:8] == b"ftyp":
        return ".m4a"
    return None


def _describe(data: bytes, content_type: str) -> str:
    snippet = data[:120].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"{content_type or 'no content type'}, {len(data)} bytes: {snippet!r}"


def _field(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


class LocalCosyVoice(VoiceBackend):
    def __init__(self, settings: CosyVoiceLocalSettings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.url:
            raise ConfigError("the cosyvoice voice backend needs COSYVOICE_URL",
                              hint="set COSYVOICE_URL=http://host:9233/v1/tts, or use --backend voice=offline")
        self.settings = settings
        self.url = settings.url
        self._clients = LoopBoundClient(
            lambda: client or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout, connect=10.0)))
        self.info = BackendInfo(name="cosyvoice", model="cosyvoice-local", lane="cosyvoice",
                                params={"speaker": settings.speaker})

    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        if not request.text.strip():
            raise BadInputError("this shot has no narration to speak", hint="write a narration line for it")
        body: dict[str, Any] = {"text": request.text.strip(), "speaker": request.voice or self.settings.speaker,
                                "speed": round(request.rate, 3)}
        if request.tone:
            body["style"] = request.tone
        try:
            response = await self._clients.get().post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise transport_error(PROVIDER, self.url, exc) from None
        data, content_type = await self._audio_bytes(response)
        ctx.progress(0.8, "decoding audio")
        audio = await asyncio.to_thread(self._decode, data, content_type, ctx.workdir)
        duration = await asyncio.to_thread(normalise_voice, audio, out, sample_rate=request.sample_rate)
        return VoiceResult(duration=duration, timings=[])

    async def _audio_bytes(self, response: httpx.Response) -> tuple[bytes, str]:
        content_type = response.headers.get("content-type", "").lower()
        if self.settings.response == "json_base64":
            if response.status_code < 400 and "json" not in content_type:
                raise BackendError(f"{PROVIDER} at {self.url} did not answer JSON "
                                   f"({_describe(response.content, content_type)})", hint=HINT)
            answer = await checked_json(PROVIDER, response)
            encoded = _field(answer, self.settings.audio_field)
            if not isinstance(encoded, str) or not encoded:
                raise BackendError(f"{PROVIDER} answered JSON without a {self.settings.audio_field!r} field "
                                   f"(keys: {', '.join(answer)})", hint=HINT)
            try:
                data = base64.b64decode(encoded.split(",", 1)[-1], validate=True)  # also accepts data: URIs
            except (binascii.Error, ValueError):
                raise BackendError(f"{PROVIDER}: {self.settings.audio_field!r} is not valid base64",
                                   hint=HINT) from None
            kind = str(answer.get("content_type") or answer.get("format") or "").lower()
            rate = answer.get("sample_rate")
            return data, f"{kind};rate={rate}" if isinstance(rate, int) and rate > 0 else kind
        if response.status_code >= 400:
            raise error_for_status(PROVIDER, response.status_code, response.text[:200] or response.reason_phrase)
        data = response.content
        untyped = content_type in ("", "application/octet-stream")
        if content_type.startswith(("text/", "application/json")) or (untyped and data.lstrip()[:1] in (b"<", b"{")):
            raise BackendError(f"{PROVIDER} at {self.url} returned no audio ({_describe(data, content_type)})",
                               hint=HINT)
        return data, content_type

    def _decode(self, data: bytes, content_type: str, workdir: Path):  # type: ignore[no-untyped-def]
        if "pcm" in content_type or "l16" in content_type:
            rate = next((int(p.split("=")[1]) for p in content_type.split(";") if p.strip().startswith("rate=")),
                        self.settings.pcm_sample_rate)
            return pcm_to_segment(data[: len(data) // 2 * 2], rate)
        suffix = sniff_suffix(data)
        if suffix is None:
            raise TransientError(f"{PROVIDER} returned bytes that are not audio ({_describe(data, content_type)})",
                                 hint=HINT)
        raw = workdir / f"cosyvoice{suffix}"
        raw.write_bytes(data)
        try:
            return load_audio(raw)
        except MediaError as exc:
            raise TransientError(f"{PROVIDER} returned broken {suffix[1:]} audio: {exc.message}", hint=HINT) from None

    async def aclose(self) -> None:
        await self._clients.aclose()


def create(settings: Settings) -> LocalCosyVoice:
    return LocalCosyVoice(settings.cosyvoice)
