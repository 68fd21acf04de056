"""A loopback fake of DashScope (Qwen, qwen-image, Wan t2i/i2v, temp-file upload, CosyVoice WS).

The real `dashscope` 2.0.2 SDK works against it unchanged once pointed at it:

    dashscope.base_http_api_url = fake.base_url         # f"{fake.url}/api/v1"
    dashscope.base_websocket_api_url = fake.ws_base_url  # f"{fake.ws_url}/api-ws/v1/inference"
    dashscope.api_key = fake.api_key
    OpenAI-compatible clients use fake.compatible_url    # f"{fake.url}/compatible-mode/v1"

Route keys for `fake.faults.add(key, Fault(...))` (trailing slashes and ids are normalised out):

    POST /api/v1/services/aigc/text-generation/generation        native Qwen chat (JSON + SSE)
    POST /compatible-mode/v1/chat/completions                    OpenAI-shaped chat (JSON + SSE)
    POST /api/v1/services/aigc/multimodal-generation/generation  qwen-image sync (and VL chat)
    POST /api/v1/services/aigc/text2image/image-synthesis        async t2i submit
    POST /api/v1/services/aigc/video-generation/video-synthesis  async i2v/t2v submit
    POST /api/v1/services/aigc/image2video/video-synthesis       async kf2v submit
    GET  /api/v1/tasks/{id}                                      task poll
    POST /api/v1/tasks/{id}/cancel                               cancel (PENDING only)
    GET  /api/v1/uploads                                         ?action=getPolicy&model=...
    POST /oss-upload                                             the temp-file upload host (multipart)
    GET  /files/{name}                                           result files (PNG/MP4)
    GET  /api-ws/v1/inference                                    CosyVoice WebSocket handshake

Tasks are PENDING after submit, RUNNING on early polls and terminal on poll number `polls_to_finish`.
Result URLs carry a fake `?Expires=...&Signature=...` query like real OSS links (`signed_result_urls`).
Unknown routes answer 404 in the DashScope error shape. See dashscope_ws.py for the CosyVoice protocol.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes import dashscope_rules as R
from tests.fakes.dashscope_chat import ChatRoutes
from tests.fakes.dashscope_storage import StorageRoutes
from tests.fakes.dashscope_ws import cosyvoice_ws
from tests.fakes.media import mp4_bytes, png_bytes
from tests.fakes.server import FakeServer, Fault, chaos_fault

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICES = "/api/v1/services/aigc"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000")


@dataclass
class FakeTask:
    task_id: str
    kind: str  # "image" | "video"
    model: str
    body: dict[str, Any]
    spec: dict[str, Any]  # resolved parameters (prompt, size, n, duration, resolution, portrait, ...)
    outcome: dict[str, Any]
    polls_needed: int
    status: str = "PENDING"
    submit_time: str = field(default_factory=_now)
    scheduled_time: str = ""
    end_time: str = ""
    output: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    error: tuple[str, str] | None = None  # input problem found at submit, reported as FAILED


class DashScopeFake(ChatRoutes, StorageRoutes, FakeServer):
    """Knobs: `llm_responses`, `default_llm`, `task_outcomes`, `polls_to_finish`, `truncate_next_downloads`
    (+ `truncate_mode`), `tts_fail_next`, `signed_result_urls`, `video_seconds_cap`, plus `faults`.
    Records: `submits`, `tasks`, `polls`, `chat_calls`, `image_calls`, `uploads`, `tts_tasks`, `files`,
    `downloads`, plus `requests`. Routes live here (images, video, tasks), in dashscope_chat.py,
    dashscope_storage.py and dashscope_ws.py; model rules in dashscope_rules.py.
    """

    def __init__(self, api_key: str = "sk-test-fake", polls_to_finish: int = 2) -> None:
        super().__init__()
        self.api_key = api_key
        self.polls_to_finish = polls_to_finish
        self.llm_responses: deque[str] = deque()
        self.task_outcomes: deque[dict[str, Any]] = deque()
        """Per submitted task, e.g. {"status":"FAILED","code":..,"message":..}; optional "polls": n."""
        self.truncate_next_downloads = 0
        self.truncate_mode = "cut"
        """"cut": promise the full Content-Length, send half, drop the connection; "short": honest half file."""
        self.tts_fail_next: tuple[str, str] | None = None
        self.signed_result_urls = True
        self.video_seconds_cap = 2.0  # real MP4s are at most this long (nominal duration is in usage)
        self.submits: list[dict[str, Any]] = []
        self.tasks: dict[str, FakeTask] = {}
        self.polls: dict[str, int] = {}
        self.chat_calls: list[dict[str, Any]] = []
        self.image_calls: list[dict[str, Any]] = []  # sync qwen-image calls
        self.uploads: dict[str, bytes] = {}
        self.tts_tasks: list[dict[str, Any]] = []
        self.tts_finished = 0
        """CosyVoice tasks that ran to `task-finished` (what is billed)."""
        self.files: dict[str, tuple[bytes, str]] = {}
        self.downloads: list[str] = []
        self._policies: dict[str, tuple[str, float]] = {}  # policy -> (upload_dir, issued_at)
        self._sockets: set[web.WebSocketResponse] = set()  # open CosyVoice sockets, closed on stop()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def ws_base_url(self) -> str:
        return f"{self.ws_url}/api-ws/v1/inference"

    @property
    def compatible_url(self) -> str:
        return f"{self.url}/compatible-mode/v1"

    def chaos_fault(self, request: web.Request) -> Fault | None:
        """Chaos here also truncates result downloads and fails CosyVoice tasks inside the WebSocket."""
        assert self.chaos is not None
        route = self.route_key(request)
        if route == "GET /files/{name}":
            kind = self.chaos.roll(route, ("500", "429", "drop", "truncate", "truncate", "truncate"))
            if kind == "truncate":
                self.truncate_next_downloads += 1
                return None
            return chaos_fault(kind) if kind else None
        if route == "GET /api-ws/v1/inference":
            kind = self.chaos.roll(route, ("500", "drop", "task-failed", "task-failed"))
            if kind == "task-failed":  # the handshake works, then the synthesis task fails (not billed)
                self.tts_fail_next = ("InternalError", "chaos: synthesis failed")
                return None
            return chaos_fault(kind) if kind else None
        return super().chaos_fault(request)

    def default_llm(self, messages: list[Any]) -> str:
        """Reply used when `llm_responses` is empty; assign another callable to change it."""
        return R.default_llm(messages)

    # -- app ----------------------------------------------------------------------------------
    def route_key(self, request: web.Request) -> str:
        path = request.path.rstrip("/") or "/"
        path = re.sub(r"^/api/v1/tasks/[^/]+", "/api/v1/tasks/{id}", path)
        path = re.sub(r"^/files/[^/]+$", "/files/{name}", path)
        return f"{request.method} {path}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        routes: list[tuple[str, str, Handler]] = [
            ("POST", f"{SERVICES}/text-generation/generation", self._generation),
            ("POST", "/compatible-mode/v1/chat/completions", self._compatible),
            ("POST", f"{SERVICES}/multimodal-generation/generation", self._multimodal),
            ("POST", f"{SERVICES}/text2image/image-synthesis", self._text2image),
            ("POST", f"{SERVICES}/video-generation/video-synthesis", self._video),
            ("POST", f"{SERVICES}/image2video/video-synthesis", self._video),
            ("GET", "/api/v1/tasks/{task_id}", self._task_get),
            ("POST", "/api/v1/tasks/{task_id}/cancel", self._task_cancel),
            ("GET", "/api/v1/uploads", self._get_policy),
            ("POST", "/oss-upload", self._oss_upload),
            ("GET", "/files/{name}", self._file),
            ("GET", "/api-ws/v1/inference", self._cosyvoice),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, path + "/", handler)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):  # aiohttp would otherwise wait for open WebSocket handlers
            await ws.close(code=1001, message=b"server shutdown")
        await super()._shutdown()

    async def _cosyvoice(self, request: web.Request) -> web.StreamResponse:
        return await cosyvoice_ws(self, request)

    async def _not_found(self, request: web.Request) -> web.Response:
        return R.ds_error(404, "NotFound", f"Requested resource not found: {request.method} {request.path}")

    # -- shared checks ------------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {self.api_key}"

    def _auth_error(self, request: web.Request) -> web.Response | None:
        return None if self._authorized(request) else R.ds_error(401, "InvalidApiKey", "Invalid API-key provided.")

    async def _prelude(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        """Auth, then a JSON object body with a model. (Responses are falsy Mappings: test `is None`.)"""
        if not self._authorized(request):
            return {}, R.ds_error(401, "InvalidApiKey", "Invalid API-key provided.")
        try:
            body = json.loads(await request.read() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}, R.ds_error(400, "InvalidParameter", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return {}, R.ds_error(400, "InvalidParameter", "The request body must be a JSON object.")
        if not body.get("model"):
            return {}, R.ds_error(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')
        return body, None

    def _next_reply(self, endpoint: str, model: str, messages: list[Any], params: dict[str, Any]) -> str:
        content = self.llm_responses.popleft() if self.llm_responses else self.default_llm(messages)
        self.chat_calls.append({"endpoint": endpoint, "model": model, "messages": messages,
                                "parameters": params, "content": content})
        return content

    # -- images -------------------------------------------------------------------------------
    async def _multimodal(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._prelude(request)
        if err is not None:
            return err
        if request.headers.get("X-DashScope-Async", "").lower() == "enable":
            return R.ds_error(403, "AccessDenied", "current user api does not support asynchronous calls")
        model, params = body["model"], body.get("parameters") or {}
        messages = (body.get("input") or {}).get("messages")
        if not isinstance(messages, list) or not messages:
            return R.ds_error(400, "InvalidParameter", "Field required: input.messages")
        family = R.image_family(model)
        if family is None:  # a VL chat model (qwen-vl-*, ...): answer like chat
            content = self._next_reply("multimodal", model, messages, params)
            return web.json_response({"request_id": R.request_id(), "output": {"choices": [{
                "finish_reason": "stop", "message": {"role": "assistant", "content": [{"text": content}]}}]},
                "usage": {"input_tokens": 10, "output_tokens": R.approx_tokens(content)}})
        prompt = R.last_user_text(messages)
        size = str(params.get("size") or R.default_image_size(family))
        n = params.get("n", 1)
        if not prompt.strip():
            return R.ds_error(400, "InvalidParameter", "Field required: input.messages.content.text")
        if (msg := R.image_size_error(family, size)) is not None:
            return R.ds_error(400, "InvalidParameter", msg)
        if not isinstance(n, int) or not 1 <= n <= R.MAX_IMAGES[family]:
            return R.ds_error(400, "InvalidParameter", f"The n {n} is illegal for model {model}.")
        w, h = R.parse_size(size)  # type: ignore[misc]
        seed = zlib.crc32(prompt.encode("utf-8"))
        urls = [self._store_file("png", png_bytes(w, h, seed + i), "image/png") for i in range(n)]
        self.image_calls.append({"model": model, "prompt": prompt, "size": size, "urls": urls, "body": body})
        return web.json_response({"request_id": R.request_id(), "output": {"choices": [{
            "finish_reason": "stop", "message": {"role": "assistant", "content": [{"image": u} for u in urls]}}]},
            "usage": {"width": w, "height": h, "image_count": n}})

    async def _text2image(self, request: web.Request) -> web.Response:
        body, err = await self._prelude(request)
        if err is not None:
            return err
        if request.headers.get("X-DashScope-Async", "").lower() != "enable":
            return R.ds_error(403, "AccessDenied", "current user api does not support synchronous calls")
        model, inp, params = body["model"], body.get("input") or {}, body.get("parameters") or {}
        family = R.image_family(model)
        if family is None:
            return R.ds_error(400, "InvalidParameter", "Model not exist.")
        if family == "qwen-image-free":
            return R.ds_error(403, "AccessDenied", "current user api does not support asynchronous calls")
        prompt = inp.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return R.ds_error(400, "InvalidParameter", "Field required: input.prompt")
        size = str(params.get("size") or R.default_image_size(family))
        if (msg := R.image_size_error(family, size)) is not None:
            return R.ds_error(400, "InvalidParameter", msg)
        n = params.get("n", 4 if family == "wan-t2i" else 1)  # wan t2i really defaults to 4 images
        if not isinstance(n, int) or not 1 <= n <= R.MAX_IMAGES[family]:
            return R.ds_error(400, "InvalidParameter", f"The n {n} is illegal for model {model}.")
        negative = inp.get("negative_prompt", params.get("negative_prompt"))
        spec = {"prompt": prompt, "negative_prompt": negative, "size": size, "n": n}
        return self._submit("image", "text2image/image-synthesis", body, spec)

    # -- video --------------------------------------------------------------------------------
    async def _video(self, request: web.Request) -> web.Response:
        body, err = await self._prelude(request)
        if err is not None:
            return err
        if request.headers.get("X-DashScope-Async", "").lower() != "enable":
            return R.ds_error(403, "AccessDenied", "current user api does not support synchronous calls")
        model, inp, params = body["model"], body.get("input") or {}, body.get("parameters") or {}
        allowed = R.video_durations(model)
        if allowed is None:
            return R.ds_error(400, "InvalidParameter", "Model not exist.")
        duration = params.get("duration", 5)
        if isinstance(duration, bool) or not isinstance(duration, int) or duration not in allowed:
            return R.ds_error(400, "InvalidParameter",
                              f"The duration {duration!r} is illegal, it must be one of {sorted(allowed)}.")
        resolution = str(params.get("resolution") or R.default_resolution(model)).upper()
        if resolution not in R.RESOLUTIONS:
            return R.ds_error(400, "InvalidParameter", f"The resolution {resolution} is illegal.")
        spec: dict[str, Any] = {"prompt": inp.get("prompt") or "", "duration": duration, "resolution": resolution,
                                "portrait": False}
        error = None
        if "t2v" in model:
            wh = R.parse_size(params.get("size") or "1280*720") or (16, 9)
            spec["portrait"] = wh[1] > wh[0]
        else:
            key = "first_frame_url" if "kf2v" in model else "img_url"
            url = inp.get(key)
            if not isinstance(url, str) or not url:
                return R.ds_error(400, "InvalidParameter", f"Field required: input.{key}")
            resolved = await self._resolve_image(request, url)
            if isinstance(resolved, web.Response):
                return resolved
            if resolved is None:
                error = ("InvalidParameter", f"{key} download failed")
            else:
                spec["portrait"] = resolved[1] > resolved[0]
        endpoint = request.path.rstrip("/").split("/services/aigc/", 1)[-1]
        return self._submit("video", endpoint, body, spec, error)

    async def _resolve_image(self, request: web.Request, url: str) -> tuple[int, int] | None | web.Response:
        """Image dims; None if an http(s) URL could not be fetched/decoded; a 400 for a bad URL."""
        if url.startswith("data:"):
            data = R.decode_data_uri(url)
            dims = R.image_dims(data) if data is not None else None
            return dims or R.ds_error(400, "InvalidParameter", "The image data URI is not a valid base64 image.")
        if url.startswith("oss://"):
            key = url[len("oss://"):]
            if request.headers.get("X-DashScope-OssResourceResolve", "").lower() != "enable" or key not in self.uploads:
                return R.ds_error(400, "InvalidParameter", R.URL_ERROR_MESSAGE)
            return R.image_dims(self.uploads[key]) or R.ds_error(400, "InvalidParameter", "The image is invalid.")
        if not url.startswith(("http://", "https://")):
            return R.ds_error(400, "InvalidParameter", R.URL_ERROR_MESSAGE)
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
                data = await resp.read() if resp.status == 200 else b""
        except (TimeoutError, aiohttp.ClientError):
            data = b""
        return R.image_dims(data) if data else None

    # -- tasks --------------------------------------------------------------------------------
    def _submit(self, kind: str, endpoint: str, body: dict[str, Any], spec: dict[str, Any],
                error: tuple[str, str] | None = None) -> web.Response:
        task_id = str(uuid.uuid4())
        outcome = dict(self.task_outcomes.popleft()) if self.task_outcomes else {}
        polls = max(1, int(outcome.pop("polls", self.polls_to_finish)))
        self.tasks[task_id] = FakeTask(task_id, kind, body["model"], body, spec, outcome, polls, error=error)
        self.submits.append({"endpoint": endpoint, "model": body["model"], "body": body, "task_id": task_id})
        return web.json_response({"request_id": R.request_id(),
                                  "output": {"task_status": "PENDING", "task_id": task_id}})

    async def _task_get(self, request: web.Request) -> web.Response:
        if (err := self._auth_error(request)) is not None:
            return err
        task_id = request.match_info["task_id"]
        task = self.tasks.get(task_id)
        if task is None:
            return web.json_response({"request_id": R.request_id(),
                                      "output": {"task_id": task_id, "task_status": "UNKNOWN"}})
        self.polls[task_id] = self.polls.get(task_id, 0) + 1
        if task.status in ("PENDING", "RUNNING"):
            task.scheduled_time = task.scheduled_time or _now()
            if self.polls[task_id] >= task.polls_needed:
                await self._finish(task)
            else:
                task.status = "RUNNING"
        return web.json_response(self._task_body(task))

    async def _task_cancel(self, request: web.Request) -> web.Response:
        if (err := self._auth_error(request)) is not None:
            return err
        task = self.tasks.get(request.match_info["task_id"])
        if task is None or task.status != "PENDING":
            return R.ds_error(400, "UnsupportedOperation",
                              "Failed to cancel the task, please confirm if the task is in PENDING status.")
        task.status, task.end_time = "CANCELED", _now()
        return web.json_response({"request_id": R.request_id()})

    def _task_body(self, task: FakeTask) -> dict[str, Any]:
        out: dict[str, Any] = {"task_id": task.task_id, "task_status": task.status, "submit_time": task.submit_time}
        if task.scheduled_time:
            out["scheduled_time"] = task.scheduled_time
        if task.end_time:
            out["end_time"] = task.end_time
        out.update(task.output)
        body: dict[str, Any] = {"request_id": R.request_id(), "output": out}
        if task.usage is not None:
            body["usage"] = task.usage
        return body

    async def _finish(self, task: FakeTask) -> None:
        status = str(task.outcome.get("status", "SUCCEEDED")).upper()
        task.end_time = _now()
        if status == "SUCCEEDED" and task.error is not None:
            status, task.outcome = "FAILED", {"code": task.error[0], "message": task.error[1]}
        task.status = status
        if status == "FAILED":
            task.output = {"code": task.outcome.get("code", "InternalError"),
                           "message": task.outcome.get("message", "Internal error.")}
        elif status == "SUCCEEDED" and task.kind == "image":
            await self._finish_image(task)
        elif status == "SUCCEEDED":
            await self._finish_video(task)

    async def _finish_image(self, task: FakeTask) -> None:
        spec = task.spec
        w, h = R.parse_size(spec["size"])  # type: ignore[misc]
        seed = zlib.crc32(spec["prompt"].encode("utf-8"))
        results = [{"orig_prompt": spec["prompt"], "actual_prompt": spec["prompt"],
                    "url": self._store_file("png", png_bytes(w, h, seed + i), "image/png")}
                   for i in range(spec["n"])]
        task.output = {"results": results, "task_metrics": {"TOTAL": spec["n"], "SUCCEEDED": spec["n"], "FAILED": 0}}
        task.usage = {"image_count": spec["n"]}

    async def _finish_video(self, task: FakeTask) -> None:
        spec = task.spec
        nominal = R.RESOLUTIONS[spec["resolution"]]
        small = (432, 240)
        if spec["portrait"]:
            nominal, small = nominal[::-1], small[::-1]
        seconds = min(float(spec["duration"]), self.video_seconds_cap)
        data = await asyncio.get_running_loop().run_in_executor(None, mp4_bytes, small[0], small[1], seconds, 16)
        task.output = {"video_url": self._store_file("mp4", data, "video/mp4"),
                       "orig_prompt": spec["prompt"], "actual_prompt": spec["prompt"]}
        task.usage = {"video_duration": spec["duration"], "video_count": 1,
                      "video_ratio": f"{nominal[0]}*{nominal[1]}", "SR": int(spec["resolution"][:-1])}
