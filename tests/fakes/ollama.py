"""A loopback fake of the Ollama HTTP API (protocols.md §7). `ollama.Client(host=fake.url)` works against it.

Route keys for `fake.faults.add(key, Fault(...))`:

    POST /api/chat       {"model","messages",["stream"=true],["format"],["options"],...}
    POST /api/generate   {"model","prompt",["system"],["stream"=true],["format"],["options"],...}
    GET  /api/tags       installed models (from `available_models`)
    GET  /api/version    {"version"}
    GET  /               "Ollama is running"

Streaming is the default: `application/x-ndjson`, one object per line, the content split into small chunks,
the last line `done: true` with the stats. `stream: false` answers one JSON object. Replies come from
`responses` (one per call), else `default_reply(text)`, a valid 6-shot storyboard JSON built from the last user
message (or the generate prompt). Unknown model → 404 `{"error": "model 'x' not found"}`.
`error_mid_stream_next = "msg"` makes the next streamed call send a few chunks then `{"error": "msg"}` inside the
HTTP 200 (a non-streamed call gets HTTP 500 with that error instead). Every call is recorded in `calls`
(endpoint, model, messages/prompt/system, format — "json" or the schema object — stream, options, body).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

CAMERAS = ["垂直升降拍摄", "水平横移拍摄", "镜头推进", "镜头后退", "仰视或俯视调整", "绕轴横向左旋转",
           "绕轴横向右旋转", "围绕主体拍摄", "全方位环绕", "锁定主体移动", "固定机位"]
TONES = ["平静", "温柔", "紧张", "兴奋", "感动", "坚定"]
STAGES = ["开场", "发展", "转折", "高潮", "回落", "结尾"]


def _story_text(text: str) -> str:
    match = re.search(r"【(?:style:[^:：]*[:：])?(.*?)】", text, re.S)
    body = match.group(1) if match else text
    return re.sub(r"\s+", " ", re.sub(r"[#*>`\-]+", " ", body)).strip() or "一个故事"


def default_reply(text: str, shots: int = 6) -> str:
    """A valid storyboard (`{"shots":[...]}`) whose subject comes from the story text."""
    story = _story_text(text)
    subject = story[:8] if re.search(r"[\u4e00-\u9fff]", story) else " ".join(story.split()[:3])
    items = []
    for i in range(shots):
        stage = STAGES[i % len(STAGES)]
        items.append({
            "sequence": i + 1, "subject": subject,
            "detail": f"写实电影风格，柔和的侧光与暖色调。{stage}：先出现{subject}，然后镜头缓缓移动，最后画面定格。",
            "narration": f"{stage}，{subject}"[:20], "camera": CAMERAS[i % len(CAMERAS)],
            "tone": TONES[i % len(TONES)], "sound": "轻柔的风声"})
    return json.dumps({"shots": items}, ensure_ascii=False)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class OllamaFake(FakeServer):
    def __init__(self, available_models: list[str] | None = None, chunk_size: int = 12,
                 chunk_delay: float = 0.0, version: str = "0.12.6") -> None:
        super().__init__()
        self.available_models = list(available_models or ["qwen3:latest", "qwen3"])
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.version = version
        self.responses: deque[str] = deque()
        self.error_mid_stream_next: str | None = None
        self.calls: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/", self._root)
        return app

    def _known(self, model: str) -> bool:
        return model in self.available_models or f"{model}:latest" in self.available_models

    async def _body(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        try:
            body = json.loads(await request.read() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}, web.json_response({"error": "invalid character in request body"}, status=400)
        if not isinstance(body, dict):
            return {}, web.json_response({"error": "invalid request body"}, status=400)
        model = body.get("model")
        if not model:
            return body, web.json_response({"error": "model is required"}, status=400)
        if not self._known(str(model)):
            return body, web.json_response({"error": f"model '{model}' not found"}, status=404)
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            return body, web.json_response({"error": f"invalid format: {json.dumps(fmt)}"}, status=400)
        return body, None

    def _reply(self, text: str) -> str:
        return self.responses.popleft() if self.responses else default_reply(text)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._body(request)
        if err is not None:
            return err
        messages = body.get("messages") or []
        if not isinstance(messages, list):
            return web.json_response({"error": "messages must be a list"}, status=400)
        last_user = next((str(m.get("content", "")) for m in reversed(messages)
                          if isinstance(m, dict) and m.get("role") == "user"), "")
        content = self._reply(last_user)
        self._record("chat", body, content, messages=messages)
        return await self._answer(request, body, content,
                                  lambda piece: {"message": {"role": "assistant", "content": piece}},
                                  {"message": {"role": "assistant", "content": ""}})

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._body(request)
        if err is not None:
            return err
        prompt = str(body.get("prompt") or "")
        content = self._reply(prompt)
        self._record("generate", body, content, prompt=prompt, system=body.get("system"))
        return await self._answer(request, body, content, lambda piece: {"response": piece},
                                  {"response": "", "context": list(range(1, 33))})

    def _record(self, endpoint: str, body: dict[str, Any], content: str, **extra: Any) -> None:
        self.calls.append({"endpoint": endpoint, "model": body["model"], "format": body.get("format"),
                           "stream": body.get("stream", True), "options": body.get("options"),
                           "content": content, "body": body, **extra})

    def _stats(self, content: str) -> dict[str, Any]:
        tokens = max(1, len(content) // 3)
        return {"done_reason": "stop", "total_duration": 5_191_566_416, "load_duration": 2_154_458,
                "prompt_eval_count": 26, "prompt_eval_duration": 383_809_000, "eval_count": tokens,
                "eval_duration": 4_799_921_000}

    async def _answer(self, request: web.Request, body: dict[str, Any], content: str, piece: Any,
                      final: dict[str, Any]) -> web.StreamResponse:
        model = body["model"]
        error, self.error_mid_stream_next = self.error_mid_stream_next, None
        if body.get("stream", True) is False:
            if error is not None:
                return web.json_response({"error": error}, status=500)
            whole = {**final, **piece(content)}
            return web.json_response({"model": model, "created_at": _now(), **whole, "done": True,
                                      **self._stats(content)})
        rsp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await rsp.prepare(request)
        chunks = [content[i:i + self.chunk_size] for i in range(0, len(content), self.chunk_size)]
        for n, chunk in enumerate(chunks):
            if error is not None and n == min(2, len(chunks) - 1):
                break
            await rsp.write(json.dumps({"model": model, "created_at": _now(), **piece(chunk), "done": False},
                                       ensure_ascii=False).encode() + b"\n")
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        if error is not None:
            await rsp.write(json.dumps({"error": error}).encode() + b"\n")
        else:
            last = {"model": model, "created_at": _now(), **final, "done": True, **self._stats(content)}
            await rsp.write(json.dumps(last, ensure_ascii=False).encode() + b"\n")
        await rsp.write_eof()
        return rsp

    async def _tags(self, request: web.Request) -> web.Response:
        models = []
        for name in self.available_models:
            full = name if ":" in name else f"{name}:latest"
            if any(m["name"] == full for m in models):
                continue
            family = full.split(":")[0].rstrip("0123456789.")
            models.append({"name": full, "model": full, "modified_at": "2025-10-01T12:00:00.000000Z",
                           "size": 5_225_388_164, "digest": "e4b5fd7f8af0" * 5 + "abcd",
                           "details": {"parent_model": "", "format": "gguf", "family": family,
                                       "families": [family], "parameter_size": "8.2B",
                                       "quantization_level": "Q4_K_M"}})
        return web.json_response({"models": models})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": self.version})

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")
