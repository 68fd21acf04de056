"""CosyVoice over the DashScope WebSocket (`/api-ws/v1/inference`), for `DashScopeFake`.

Protocol (protocols.md §4): the handshake carries `Authorization: Bearer <key>` (a bad key gets HTTP 401
before the upgrade, like the real service; note the SDK then just times out: `TimeoutError` after 5 s).
Voices must match the model: cosyvoice-v1 suffix-less v1 names, cosyvoice-v2 `*_v2`, cosyvoice-v3* suffix-less
v3 names (longanyang...) or `*_v3`; otherwise task-failed InvalidParameter "[tts:]Engine return error code: 418"
(the real answer). Then, per task:

    run-task      -> task-started                     (or task-failed: bad model/voice/format, tts_fail_next)
    continue-task -> result-generated sentence-begin  (original_text)
                  -> result-generated sentence-synthesis, then exactly ONE binary audio frame
                  -> result-generated sentence-end    (payload.usage.characters)
    finish-task   -> task-finished                    (payload.usage.characters for the whole task)

Each continue-task text is one sentence. `sentence.words` spreads time evenly: 200 ms per CJK character,
300 ms per latin word/number, punctuation takes no time; times are cumulative over the task (ms). The audio
is a tone that long, in the requested codec:
  mp3   `"format":"Default"` or `"sample_rate":0` mean mp3 at 22050 Hz; decoded length within half an MP3
        frame (<= 36 ms) of the word timing; no Xing/ID3 headers, so sentences concatenate cleanly;
  wav   a RIFF header on the first sentence only (sized for that sentence), later sentences raw PCM;
  pcm   raw s16le mono;   opus  ogg/opus.
Billing characters: a CJK ideograph counts 2, anything else 1.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import re
import struct
import wave
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.dashscope_rules import request_id
from tests.fakes.media import _ffmpeg_to_bytes, wav_bytes

if TYPE_CHECKING:
    from tests.fakes.dashscope import DashScopeFake

SAMPLE_RATES = {8000, 16000, 22050, 24000, 44100, 48000}
FORMATS = {"mp3", "wav", "pcm", "opus"}
VOICE_MISMATCH = "[tts:]Engine return error code: 418"  # the real service's answer to a wrong voice family
V1_VOICES = {
    "longwan", "longcheng", "longhua", "longxiaochun", "longxiaoxia", "longxiaocheng", "longxiaobai",
    "longlaotie", "longshu", "longshuo", "longjing", "longmiao", "longyue", "longyuan", "longfei",
    "longjielidou", "longtong", "longxiang", "loongstella", "loongbella",
}
V3_VOICES = {"longanyang", "longanhuan", "longanran", "longanxuan", "longanrou", "longanlang"}
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_RE = re.compile(rf"[{_CJK}]|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


def voice_ok(model: str, voice: str) -> bool:
    """cosyvoice-v1: suffix-less v1 names; v2: `*_v2`; v3*: suffix-less v3 names or `*_v3`.

    Cloned/designed voices (`<model>-<prefix>-<id>`) must name the same model."""
    if voice.startswith("cosyvoice-"):
        return voice.startswith(model + "-")
    suffix = re.search(r"_v(\d[\d.]*)$", voice)
    if model == "cosyvoice-v1":
        return suffix is None and voice not in V3_VOICES
    if model == "cosyvoice-v2":
        return bool(suffix) and suffix.group(1) == "2"
    if model.startswith("cosyvoice-v3"):
        return (suffix is None and voice not in V1_VOICES) or (bool(suffix) and suffix.group(1).startswith("3"))
    return False


def billed_characters(text: str) -> int:
    return sum(2 if re.match(rf"[{_CJK}]", ch) else 1 for ch in text)


def word_timings(text: str, offset_ms: int) -> tuple[list[dict[str, Any]], int]:
    """(words, duration_ms) for one sentence; times start at `offset_ms`."""
    words, t = [], offset_ms
    for m in _WORD_RE.finditer(text):
        dur = 200 if re.match(rf"[{_CJK}]", m.group()) else 300
        words.append({"text": m.group(), "begin_index": m.start(), "end_index": m.end(),
                      "begin_time": t, "end_time": t + dur})
        t += dur
    return words, max(t - offset_ms, 200)


@functools.lru_cache(maxsize=64)
def render_audio(fmt: str, sample_rate: int, ms: int, with_header: bool = True) -> bytes:
    """A tone `ms` long in the requested codec (cached; ffmpeg runs once per parameter set)."""
    seconds = ms / 1000
    if fmt == "mp3":
        # No Xing/ID3 headers, so concatenated sentences stay one decodable CBR stream. Without gapless
        # info a decoder also plays LAME's 1105-sample delay and the padded last frames, so the tone is
        # shortened to make the DECODED length match `ms` to within half an MP3 frame.
        frame = 1152 if sample_rate >= 32000 else 576
        frames = max(2, round(sample_rate * ms / 1000 / frame))
        samples = max(1, (frames - 1) * frame - 1105)
        return _ffmpeg_to_bytes(
            ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={sample_rate}",
             "-af", f"atrim=end_sample={samples}", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k",
             "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3"], ".mp3")
    if fmt == "opus":  # libopus only encodes at 8/12/16/24/48 kHz
        rate = sample_rate if sample_rate in (8000, 16000, 24000, 48000) else 48000
        return _ffmpeg_to_bytes(
            ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={rate}:duration={seconds}",
             "-ac", "1", "-c:a", "libopus", "-b:a", "32k"], ".ogg")
    with wave.open(io.BytesIO(wav_bytes(seconds, sample_rate))) as w:
        pcm = w.readframes(w.getnframes())
    if fmt == "pcm" or not with_header:
        return pcm
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16) + b"data" + struct.pack("<I", len(pcm))
    return header + pcm


def _strip_ssml(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text) if text.lstrip().startswith("<speak") else text


class _Session:
    """One WebSocket connection; runs its tasks one at a time."""

    def __init__(self, fake: DashScopeFake, ws: web.WebSocketResponse, headers: dict[str, str]) -> None:
        self.fake, self.ws, self.headers = fake, ws, headers
        self.task: dict[str, Any] | None = None  # the record appended to fake.tts_tasks
        self.fmt, self.rate = "mp3", 22050
        self.elapsed_ms = self.index = self.characters = 0

    async def event(self, event: str, payload: dict[str, Any], task_id: str, **header: str) -> None:
        await self.ws.send_str(json.dumps(
            {"header": {"task_id": task_id, "event": event, "attributes": {}, **header}, "payload": payload},
            ensure_ascii=False))

    async def fail(self, task_id: str, code: str, message: str) -> None:
        await self.event("task-failed", {}, task_id, error_code=code, error_message=message)
        self.task = None

    async def handle(self, msg: dict[str, Any]) -> None:
        header, payload = msg.get("header") or {}, msg.get("payload") or {}
        action, task_id = header.get("action"), str(header.get("task_id") or "")
        if action == "run-task":
            await self.run_task(task_id, payload)
        elif self.task is None or task_id != self.task["task_id"]:
            await self.fail(task_id, "InvalidParameter", f"task {task_id!r} is not running")
        elif action == "continue-task":
            text = (payload.get("input") or {}).get("text")
            if isinstance(text, str) and text.strip():
                await self.sentence(text)
        elif action == "finish-task":
            await self.event("task-finished", {"output": {}, "usage": {"characters": self.characters}}, task_id)
            self.fake.tts_finished += 1
            self.task = None
        else:
            await self.fail(task_id, "InvalidParameter", f"unsupported action {action!r}")

    async def run_task(self, task_id: str, payload: dict[str, Any]) -> None:
        if self.task is not None:
            await self.fail(task_id, "InvalidParameter", "a task is already running on this connection")
            return
        params, model = payload.get("parameters") or {}, str(payload.get("model") or "")
        record = {"task_id": task_id, "model": model, "parameters": params, "texts": [], "headers": self.headers}
        self.fake.tts_tasks.append(record)
        fmt = str(params.get("format") or "Default").lower()
        rate = int(params.get("sample_rate") or 0)
        fmt, rate = ("mp3" if fmt == "default" else fmt), (rate or 22050)
        if self.fake.tts_fail_next is not None:
            code, message = self.fake.tts_fail_next
            self.fake.tts_fail_next = None
            await self.fail(task_id, code, message)
        elif not model.startswith("cosyvoice-") or payload.get("task") != "tts":
            await self.fail(task_id, "ModelNotFound", f"Model not found: {model}")
        elif not voice_ok(model, str(params.get("voice") or "")):
            await self.fail(task_id, "InvalidParameter", VOICE_MISMATCH)
        elif fmt not in FORMATS or rate not in SAMPLE_RATES:
            await self.fail(task_id, "InvalidParameter", f"unsupported format/sample_rate: {fmt}/{rate}")
        else:
            self.task, self.fmt, self.rate = record, fmt, rate
            self.elapsed_ms = self.index = self.characters = 0
            await self.event("task-started", {}, task_id)

    async def sentence(self, text: str) -> None:
        assert self.task is not None
        task_id = self.task["task_id"]
        self.task["texts"].append(text)
        words, ms = word_timings(_strip_ssml(text), self.elapsed_ms)
        sentence = {"index": self.index, "begin_time": self.elapsed_ms, "end_time": self.elapsed_ms + ms,
                    "words": words}
        chars = billed_characters(text)
        loop = asyncio.get_running_loop()
        audio = await loop.run_in_executor(None, render_audio, self.fmt, self.rate, ms, self.index == 0)

        def out(kind: str) -> dict[str, Any]:
            return {"type": kind, "original_text": text, "sentence": sentence}

        await self.event("result-generated", {"output": out("sentence-begin")}, task_id)
        await self.event("result-generated", {"output": out("sentence-synthesis")}, task_id)
        await self.ws.send_bytes(audio)
        await self.event("result-generated", {"output": out("sentence-end"), "usage": {"characters": chars}},
                         task_id)
        self.elapsed_ms += ms
        self.index += 1
        self.characters += chars


async def cosyvoice_ws(fake: DashScopeFake, request: web.Request) -> web.StreamResponse:
    """The `GET /api-ws/v1/inference` handler."""
    if request.headers.get("Authorization", "") != f"Bearer {fake.api_key}":
        body = {"request_id": request_id(), "code": "InvalidApiKey", "message": "Invalid API-key provided."}
        return web.json_response(body, status=401)
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    fake._sockets.add(ws)
    session = _Session(fake, ws, dict(request.headers))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    data = json.loads(msg.data)
                except json.JSONDecodeError:
                    await session.fail("", "InvalidParameter", "message is not valid JSON")
                    continue
                await session.handle(data if isinstance(data, dict) else {})
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        fake._sockets.discard(ws)
    return ws


__all__ = ["cosyvoice_ws", "voice_ok", "word_timings", "billed_characters", "render_audio"]
