"""Keyframes from DashScope text-to-image.

- qwen-image / qwen-image-plus (and the sync-only qwen-image-2.0/-max): the synchronous
  multimodal-generation endpoint, one call → an image URL (protocols.md §2.3);
- wan t2i models (`wan2.2-t2i-flash`, …): the async image-synthesis task API — submit, persist the
  task id, poll `GET /tasks/{id}` (shared with Wan video, `tasks.py`).
Either way the image is downloaded, must decode, and must have the size that was asked for. The size
follows the project's aspect, mapped onto what the model accepts (9:16 → 928*1664 for qwen-image).
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

from s2v_tui.backends.base import BackendInfo, KeyframeBackend, KeyframeRequest, StageContext
from s2v_tui.backends.dashscope.client import PROVIDER, DashScopeHttp
from s2v_tui.backends.dashscope.tasks import download_result, run_task
from s2v_tui.backends.http import link_expired
from s2v_tui.config import Settings
from s2v_tui.domain.errors import BackendError
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.probe import verify_image

SYNC_PATH = "services/aigc/multimodal-generation/generation"
ASYNC_PATH = "services/aigc/text2image/image-synthesis"
QWEN_IMAGE_SIZES = ((1664, 928), (1472, 1140), (1328, 1328), (1140, 1472), (928, 1664))
"""The only sizes qwen-image and qwen-image-plus accept."""


def family(model: str) -> str:
    """"qwen-fixed" (five sizes, sync), "qwen-free" (any W*H, sync only) or "wan" (async task)."""
    if re.fullmatch(r"qwen-image(-plus)?(-\d{4}-\d{2}-\d{2})?", model):
        return "qwen-fixed"
    return "qwen-free" if model.startswith("qwen-image") else "wan"


def size_for(model: str, width: int, height: int, override: str | None = None) -> tuple[int, int]:
    """The W*H to request for a project frame of width×height."""
    if override:
        match = re.fullmatch(r"\s*(\d+)\s*[*x×]\s*(\d+)\s*", override)
        if not match:
            raise BackendError(f"image_size {override!r} is not W*H", hint="use e.g. 928*1664, or unset it")
        return int(match[1]), int(match[2])
    kind = family(model)
    if kind == "qwen-fixed":
        aspect = math.log(width / height)
        return min(QWEN_IMAGE_SIZES, key=lambda wh: abs(math.log(wh[0] / wh[1]) - aspect))
    # About one megapixel (wan's default 1024*1024; qwen-free's range starts at 512²), sides ×16.
    lo, hi = (512, 1440) if kind == "wan" else (512, 2048)
    scale = math.sqrt(1024 * 1024 / (width * height))

    def side(value: int) -> int:
        return int(min(hi, max(lo, round(value * scale / 16) * 16)))

    return side(width), side(height)


class DashScopeImage(KeyframeBackend):
    def __init__(self, settings: Settings, http: DashScopeHttp | None = None) -> None:
        ds = settings.dashscope
        self.settings = ds
        self.retry = settings.retry
        self.model = ds.image_model
        self.http = http or DashScopeHttp(ds)
        self.info = BackendInfo(name="dashscope", model=self.model, lane="dashscope-image", paid_provider=PROVIDER,
                                params={"size": ds.image_size, "prompt_extend": ds.prompt_extend})

    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        width, height = size_for(self.model, request.width, request.height, self.settings.image_size)
        parameters = {"size": f"{width}*{height}", "n": 1, "prompt_extend": self.settings.prompt_extend,
                      "watermark": False, "seed": request.seed % (2**31 - 1)}
        if family(self.model) == "wan":
            url = await self._async_task(request, parameters, ctx)
        else:
            url = await self._sync_result(request, parameters, ctx)
        await download_result(self.http, ctx, url, out, verify_image, what="keyframe",
                              attempts=self.retry.download_attempts, base_delay=self.retry.base_delay)
        got = await asyncio.to_thread(verify_image, out)
        if tuple(got) != (width, height):
            raise BackendError(f"DashScope returned a {got[0]}x{got[1]} image; {width}x{height} was asked for",
                               hint="check [dashscope] image_size / image_model")
        ctx.progress(1.0, "keyframe downloaded")

    async def _sync_result(self, request: KeyframeRequest, parameters: dict, ctx: StageContext) -> str:
        """The image link of a paid call for exactly these inputs: the one a failed download left (kept
        in project.json like a task id, so no crash or retry pays again), else a new call's."""
        pending = ctx.pending_task
        url = pending.extra.get("result_url") if pending and pending.provider == PROVIDER else None
        if url and link_expired(url):
            await ctx.forget_task()
            ctx.log("the paid keyframe's link expired before it could be downloaded; generating it again "
                    "(1 more paid call)", "warning")
            url = None
        if url:
            ctx.log("downloading the keyframe already paid for (not generating again)")
            return url
        url, request_id = await self._sync_call(request, parameters, ctx)
        await ctx.remember_task(RemoteTask(provider=PROVIDER, task_id=request_id or "sync", input_hash=ctx.input_hash,
                                           extra={"result_url": url, "model": self.model}))
        return url

    async def _sync_call(self, request: KeyframeRequest, parameters: dict, ctx: StageContext) -> tuple[str, str]:
        ctx.progress(0.1, f"asking {self.model}")
        body = {"model": self.model,
                "input": {"messages": [{"role": "user", "content": [{"text": request.prompt}]}]},
                "parameters": {**parameters, "negative_prompt": request.negative_prompt}}
        answer = await self.http.call("POST", SYNC_PATH, json=body)
        ctx.count_paid_call(PROVIDER)
        try:
            content = answer["output"]["choices"][0]["message"]["content"]
            url = str(next(part["image"] for part in content if isinstance(part, dict) and part.get("image")))
            return url, str(answer.get("request_id") or "")
        except (KeyError, IndexError, TypeError, StopIteration):
            raise BackendError(f"{self.model} answered without an image URL") from None

    async def _async_task(self, request: KeyframeRequest, parameters: dict, ctx: StageContext) -> str:
        async def submit() -> str:
            body = {"model": self.model,
                    "input": {"prompt": request.prompt, "negative_prompt": request.negative_prompt},
                    "parameters": parameters}
            answer = await self.http.call("POST", ASYNC_PATH, json=body, async_task=True)
            task_id = str((answer.get("output") or {}).get("task_id") or "")
            if not task_id:
                raise BackendError("DashScope accepted the image job but returned no task id")
            ctx.count_paid_call(PROVIDER)
            return task_id

        output = await run_task(self.http, ctx, what="image", submit=submit, extra={"model": self.model})
        results = [r for r in output.get("results") or [] if isinstance(r, dict)]
        url = next((r.get("url") for r in results if r.get("url")), None)
        if not url:
            await ctx.forget_task()
            failed = next((r for r in results if r.get("code")), {})
            raise BackendError(f"the image task finished without an image: {failed.get('message', 'no URL')}",
                               hint="run again to submit a new task")
        return str(url)

    async def aclose(self) -> None:
        await self.http.aclose()


def create(settings: Settings) -> DashScopeImage:
    return DashScopeImage(settings)
