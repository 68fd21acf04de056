"""A loopback fake of the PixVerse platform API (protocols.md §5).

    with PixVerseFake() as pv:      # base URL: pv.url  (endpoints under /openapi/v2/)

Every answer is the envelope `{"ErrCode", "ErrMsg", "Resp"}`; business errors are HTTP 200 with ErrCode != 0.
Headers: `API-KEY` must equal `api_key` (missing or wrong → ErrCode 10005 "API key is invalid": the §5 table
has no auth code, so this is the code the brief suggested; `INVALID_KEY` holds it) and `Ai-trace-id` must be
present on every call (missing → 400011 "Empty parameter").

Route keys for `pv.faults.add(key, Fault(...))`:

    POST /openapi/v2/image/upload          multipart `image` file, or form field `image_url` (fetched)
    POST /openapi/v2/video/img/generate    JSON; Resp {video_id}
    POST /openapi/v2/video/text/generate   JSON (no img_id, optional aspect_ratio); Resp {video_id}
    GET  /openapi/v2/video/result/{id}     status 5 (generating) → 1 (url) | 7 (moderation) | 8 (failed)
    GET  /openapi/v2/account/balance       Resp {account_id, credit_monthly, credit_package}
    GET  /media/{name}                     uploaded images and result MP4s

Jobs: each created job consumes one value from `outcomes` (default 1) and reports status 5 for the first
`polls_to_finish - 1` polls. Reusing an `Ai-trace-id` on generate returns the SAME video_id without a new
job (`generate_calls` counts requests, `jobs_created` counts jobs). With `concurrency_limit=N`, a generate
while N jobs are still generating answers 500044. Result MP4s are small real H.264 files
(`video_size`, at most `video_seconds_cap` s) while Resp.outputWidth/outputHeight report the nominal size.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from tests.fakes.formdata import read_form
from tests.fakes.media import mp4_bytes
from tests.fakes.server import FakeServer

V2 = "/openapi/v2"
INVALID_KEY = (10005, "API key is invalid")
MODELS = {"v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6", "v6", "c1"}
QUALITIES = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}
ASPECTS = {"16:9": (16, 9), "4:3": (4, 3), "1:1": (1, 1), "3:4": (3, 4), "9:16": (9, 16)}
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def envelope(code: int = 0, msg: str = "success", resp: Any = None) -> web.Response:
    return web.json_response({"ErrCode": code, "ErrMsg": msg, "Resp": resp if resp is not None else {}})


class PixVerseFake(FakeServer):
    def __init__(self, api_key: str = "pv-test-fake", polls_to_finish: int = 2,
                 concurrency_limit: int | None = None, video_size: tuple[int, int] = (240, 136),
                 video_seconds_cap: float = 1.0) -> None:
        super().__init__()
        self.api_key = api_key
        self.polls_to_finish = polls_to_finish
        self.concurrency_limit = concurrency_limit
        self.video_size = video_size
        self.video_seconds_cap = video_seconds_cap
        self.outcomes: deque[int] = deque()
        """Final status per created job: 1 (success), 7 (moderation failed) or 8 (generation failed)."""
        self.uploads: dict[int, dict[str, Any]] = {}  # img_id → {data, width, height, source, url}
        self.jobs: dict[int, dict[str, Any]] = {}  # video_id → {kind, body, trace_id, status, polls, outcome, ...}
        self.generate_calls = 0
        self.jobs_created = 0
        self.trace_ids: dict[str, int] = {}  # generate trace id → video_id
        self.media: dict[str, tuple[bytes, str]] = {}
        self._next_id = 370_000_000_000

    # -- app -------------------------------------------------------------------------------------
    def route_key(self, request: web.Request) -> str:
        path = request.path
        if path.startswith(f"{V2}/video/result/"):
            path = f"{V2}/video/result/{{id}}"
        elif path.startswith("/media/"):
            path = "/media/{name}"
        return f"{request.method} {path}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(f"{V2}/image/upload", self._guard(self._upload))
        app.router.add_post(f"{V2}/video/img/generate", self._guard(self._generate_img))
        app.router.add_post(f"{V2}/video/text/generate", self._guard(self._generate_text))
        app.router.add_get(f"{V2}/video/result/{{video_id}}", self._guard(self._result))
        app.router.add_get(f"{V2}/account/balance", self._guard(self._balance))
        app.router.add_get("/media/{name}", self._media)
        return app

    def _guard(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if request.headers.get("API-KEY") != self.api_key:
                return envelope(*INVALID_KEY)
            if not request.headers.get("Ai-trace-id", "").strip():
                return envelope(400011, "Empty parameter: Ai-trace-id")
            return await handler(request)
        return wrapped

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- upload ----------------------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        form = await read_form(request)
        if "image" in form and form["image"].value:
            data, source = form["image"].value, "file"
        elif "image_url" in form and form["image_url"].text.strip():
            fetched = await self._fetch(form["image_url"].text.strip())
            if fetched is None:
                return envelope(500041, "image upload failed")
            data, source = fetched, "url"
        else:
            return envelope(400011, "Empty parameter: image")
        if len(data) > MAX_IMAGE_BYTES:
            return envelope(500030, "image size exceeds the limit of 20MB")
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt, (w, h) = img.format, img.size
                img.verify()
        except Exception:  # noqa: BLE001 - anything Pillow cannot read
            return envelope(500032, "image format not supported")
        if fmt not in ("JPEG", "PNG", "WEBP"):
            return envelope(500032, "image format not supported")
        if w > 4000 or h > 4000:
            return envelope(500033, "image width or height exceeds 4000px")
        img_id = self._new_id()
        name = f"img-{img_id}.{fmt.lower().replace('jpeg', 'jpg')}"
        self.media[name] = (data, f"image/{fmt.lower()}")
        url = f"{self.url}/media/{name}"
        self.uploads[img_id] = {"data": data, "width": w, "height": h, "source": source, "url": url}
        return envelope(resp={"img_id": img_id, "img_url": url})

    @staticmethod
    async def _fetch(url: str) -> bytes | None:
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as rsp:
                return await rsp.read() if rsp.status == 200 else None
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None

    # -- generate --------------------------------------------------------------------------------
    async def _generate_img(self, request: web.Request) -> web.Response:
        return await self._generate(request, "img")

    async def _generate_text(self, request: web.Request) -> web.Response:
        return await self._generate(request, "text")

    async def _generate(self, request: web.Request, kind: str) -> web.Response:
        self.generate_calls += 1
        trace = request.headers["Ai-trace-id"]
        if trace in self.trace_ids:  # idempotency: the previous result, no new job
            return envelope(resp={"video_id": self.trace_ids[trace]})
        try:
            body = json.loads(await request.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return envelope(400013, "invalid binding request")
        if not isinstance(body, dict):
            return envelope(400013, "invalid binding request")
        problem = self._check(body, kind)
        if problem is not None:
            return envelope(*problem)
        running = sum(1 for job in self.jobs.values() if job["status"] == 5)
        if self.concurrency_limit is not None and running >= self.concurrency_limit:
            return envelope(500044, "Reached the limit for concurrent generations.")
        video_id = self._new_id()
        outcome = self.outcomes.popleft() if self.outcomes else 1
        if kind == "img":
            img = self.uploads[int(body["img_id"])]
            portrait = img["height"] > img["width"]
            aspect = (9, 16) if portrait else (16, 9)
        else:
            aspect = ASPECTS[body.get("aspect_ratio", "16:9")]
        self.jobs[video_id] = {"kind": kind, "body": body, "trace_id": trace, "status": 5, "polls": 0,
                               "outcome": outcome, "aspect": aspect, "create_time": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.jobs_created += 1
        self.trace_ids[trace] = video_id
        return envelope(resp={"video_id": video_id})

    def _check(self, body: dict[str, Any], kind: str) -> tuple[int, str] | None:
        required = (["img_id"] if kind == "img" else []) + ["prompt", "model", "duration", "quality"]
        for name in required:
            if body.get(name) in (None, ""):
                return 400011, f"Empty parameter: {name}"
        if kind == "img":
            if not isinstance(body["img_id"], int) or isinstance(body["img_id"], bool):
                return 400013, "invalid binding request: img_id must be an integer"
            if body["img_id"] not in self.uploads:
                return 400032, "invalid image ID"
        model, duration, quality = body["model"], body["duration"], body["quality"]
        if not isinstance(body["prompt"], str):
            return 400013, "invalid binding request: prompt must be a string"
        if len(body["prompt"]) > (5000 if model == "v6" else 2048):
            return 400018, "prompt is too long"
        if model not in MODELS:
            return 400017, f"invalid parameter: model {model!r}"
        if quality not in QUALITIES:
            return 400017, f"invalid parameter: quality {quality!r}"
        if not isinstance(duration, int) or isinstance(duration, bool):
            return 400013, "invalid binding request: duration must be an integer"
        allowed = set(range(1, 16)) if model in ("v6", "c1") else {5, 8}
        if duration not in allowed:
            return 400017, f"invalid parameter: duration {duration}"
        if quality == "1080p" and duration != 5 and model not in ("v6", "c1"):
            return 400017, "1080p only supports a duration of 5 seconds"
        if body.get("motion_mode", "normal") not in ("normal", "fast"):
            return 400017, "invalid parameter: motion_mode"
        if body.get("motion_mode") == "fast" and (duration != 5 or quality == "1080p"):
            return 400017, "fast motion only supports 5 seconds below 1080p"
        if kind == "text" and body.get("aspect_ratio", "16:9") not in ASPECTS:
            return 400017, "invalid parameter: aspect_ratio"
        return None

    # -- result ----------------------------------------------------------------------------------
    async def _result(self, request: web.Request) -> web.Response:
        try:
            video_id = int(request.match_info["video_id"])
        except ValueError:
            return envelope(400013, "invalid binding request")
        job = self.jobs.get(video_id)
        if job is None:
            return envelope(500008, "data not found")
        job["polls"] += 1
        if job["status"] == 5 and job["polls"] >= self.polls_to_finish:
            job["status"] = job["outcome"]
            if job["status"] == 1:
                await self._render(video_id, job)
        body = job["body"]
        height = QUALITIES[body["quality"]]
        a, b = job["aspect"]
        width = round(height * a / b / 2) * 2
        if a < b:  # portrait: the quality names the short side
            width, height = height, round(height * b / a / 2) * 2
        resp = {"id": video_id, "status": job["status"], "url": job.get("url", ""), "prompt": body.get("prompt", ""),
                "negative_prompt": body.get("negative_prompt", ""), "seed": body.get("seed", 0),
                "style": body.get("style", ""), "outputWidth": width, "outputHeight": height,
                "resolution_ratio": QUALITIES[body["quality"]], "size": len(job.get("data", b"")),
                "create_time": job["create_time"], "modify_time": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return envelope(resp=resp)

    async def _render(self, video_id: int, job: dict[str, Any]) -> None:
        w, h = self.video_size
        if job["aspect"][0] < job["aspect"][1]:
            w, h = h, w
        seconds = min(float(job["body"]["duration"]), self.video_seconds_cap)
        data = await asyncio.get_running_loop().run_in_executor(None, mp4_bytes, w, h, seconds, 16)
        name = f"{video_id}.mp4"
        self.media[name] = (data, "video/mp4")
        job["data"], job["url"] = data, f"{self.url}/media/{name}"

    async def _balance(self, request: web.Request) -> web.Response:
        return envelope(resp={"account_id": 100001, "credit_monthly": 1000, "credit_package": 0})

    async def _media(self, request: web.Request) -> web.Response:
        item = self.media.get(request.match_info["name"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=item[0], content_type=item[1])
