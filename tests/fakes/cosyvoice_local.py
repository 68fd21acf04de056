"""A loopback fake of a self-hosted CosyVoice HTTP server, like the seed's `POST /v1/tts`
(seed-original.md §6: `{"text","speaker","speed",["style"]}`, raw audio bytes back).

Route key for `fake.faults.add(key, Fault(...))`: `POST /v1/tts`.

`mode` (or one entry of `modes`, consumed per call before falling back to `mode`) picks the answer:

    "wav"         200 audio/wav, 16-bit mono PCM at 22050 Hz (default)
    "mp3"         200 audio/mpeg
    "json_b64"    200 application/json {"audio": "<base64 wav>", "sample_rate": 22050}
    "html_error"  200 text/html error page (a proxy/CDN style failure a client must reject)
    "garbage"     200 audio/wav whose bytes are not audio

Audio length ≈ 0.22 s per CJK character + 0.35 s per other word, divided by `speed`, at least 0.5 s
(`duration_for(text, speed)`). A body that is not a JSON object, or empty/missing `text`, gets 400 JSON
`{"error": ...}`. Every call is recorded in `calls` (text, speaker, speed, style, mode, seconds, body).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.media import mp3_bytes, wav_bytes
from tests.fakes.server import FakeServer

MODES = ("wav", "mp3", "json_b64", "html_error", "garbage")
SAMPLE_RATE = 22050
HTML_ERROR = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
              b"</h1></center><hr><center>nginx</center></body></html>\n")


def duration_for(text: str, speed: float = 1.0) -> float:
    """Seconds of speech the fake returns for `text` (rounded to 10 ms so media is cached per length)."""
    cjk = len(re.findall(r"[\u3400-\u9fff\uf900-\ufaff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?", text))
    seconds = (0.22 * cjk + 0.35 * words) / (speed if speed and speed > 0 else 1.0)
    return round(max(0.5, seconds), 2)


class CosyVoiceLocalFake(FakeServer):
    def __init__(self, mode: str = "wav") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.modes: deque[str] = deque()
        self.calls: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/tts", self._tts)
        return app

    async def _tts(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "request body is not valid JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "request body must be a JSON object"}, status=400)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return web.json_response({"error": "text must be a non-empty string"}, status=400)
        try:
            speed = float(body.get("speed", 1.0))
        except (TypeError, ValueError):
            return web.json_response({"error": "speed must be a number"}, status=400)
        mode = self.modes.popleft() if self.modes else self.mode
        seconds = duration_for(text, speed)
        self.calls.append({"text": text, "speaker": body.get("speaker"), "speed": speed, "style": body.get("style"),
                           "mode": mode, "seconds": seconds, "body": body})
        if mode == "html_error":
            return web.Response(body=HTML_ERROR, content_type="text/html", charset="utf-8")
        if mode == "garbage":
            return web.Response(body=b"\x00\x01NOT-AUDIO" * 64, content_type="audio/wav")
        if mode == "mp3":
            mp3 = await asyncio.get_running_loop().run_in_executor(None, mp3_bytes, seconds, SAMPLE_RATE)
            return web.Response(body=mp3, content_type="audio/mpeg")
        wav = await asyncio.get_running_loop().run_in_executor(None, wav_bytes, seconds, SAMPLE_RATE)
        if mode == "json_b64":
            return web.json_response({"audio": base64.b64encode(wav).decode("ascii"), "sample_rate": SAMPLE_RATE})
        return web.Response(body=wav, content_type="audio/wav")
