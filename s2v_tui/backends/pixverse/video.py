"""Clips from PixVerse image-to-video: upload → generate → poll the result → download.

Exactly-once generation, even across crashes: before the (paid) generate call a trace id is stored
with the task (`ctx.remember_task`, task id still empty), and the generate call sends it as
`Ai-trace-id`. If the answer is lost, the next attempt sends the same trace id and PixVerse returns the
same video instead of making another. Once the video id is known it is stored too, and every later
attempt only polls. Status 7 (moderation) and 8 (failed) fail the shot and forget the task.
"""

from __future__ import annotations

import math
import time
import uuid
from pathlib import Path

from s2v_tui.backends.base import BackendInfo, ClipBackend, ClipRequest, ClipResult, StageContext
from s2v_tui.backends.http import download_retrying, poll_until
from s2v_tui.backends.pixverse.client import MODERATION_MESSAGE, NOT_FOUND, PROVIDER, PixVerseClient
from s2v_tui.config import Settings
from s2v_tui.domain.errors import BackendError, ContentRejectedError, S2VError, TaskFailedError, TransientError
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.probe import verify_video

PROMPT_LIMIT = 2048
NEGATIVE_PROMPT = "blurry, distorted, low quality, watermark, subtitles, text"
DONE, GENERATING, MODERATED, FAILED = 1, 5, 7, 8


def allowed_durations(model: str, quality: str) -> tuple[int, ...]:
    """v6 takes 1–15 s; v4–v5.x take 5 or 8 s (1080p only 5)."""
    if model.startswith("v6"):
        return tuple(range(1, 16))
    return (5,) if quality.lower() == "1080p" else (5, 8)


class PixVerseVideo(ClipBackend):
    def __init__(self, settings: Settings, client: PixVerseClient | None = None) -> None:
        self.settings = settings.pixverse
        self.retry = settings.retry
        self.client = client or PixVerseClient(self.settings)
        self.info = BackendInfo(name="pixverse", model=self.settings.model, lane="pixverse", paid_provider=PROVIDER,
                                params={"quality": self.settings.quality, "motion_mode": "normal"})

    def duration_for(self, seconds: float) -> float:
        options = allowed_durations(self.settings.model, self.settings.quality)
        return float(next((d for d in options if d >= math.ceil(seconds - 1e-6)), options[-1]))

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        task = ctx.pending_task if ctx.pending_task and ctx.pending_task.provider == PROVIDER else None
        if task is None or not task.extra.get("trace_id"):
            ctx.progress(0.05, "uploading the keyframe to PixVerse")
            img_id = await self.client.upload_image(request.keyframe)
            extra = {"trace_id": str(uuid.uuid4()), "img_id": str(img_id), "model": self.settings.model}
            task = RemoteTask(provider=PROVIDER, task_id="", input_hash=ctx.input_hash, extra=extra)
            await ctx.remember_task(task)  # the idempotency key is on disk before anything is paid for
        if not task.task_id:
            task = await self._generate(task, request, ctx)
        else:
            ctx.log(f"resuming PixVerse video {task.task_id} (not generating again)")
        url = await self._poll(task.task_id, ctx)
        try:
            await download_retrying(lambda: self.client.download(url, out, verify_video),
                                    attempts=self.retry.download_attempts, base_delay=self.retry.base_delay,
                                    what="downloading the PixVerse clip", log=lambda m: ctx.log(m, "warning"))
        except TransientError:
            raise
        except BackendError as exc:
            await ctx.forget_task()
            raise BackendError(f"the finished PixVerse clip could not be downloaded: {exc.message}",
                               hint="run again to generate it anew") from None
        ctx.progress(1.0, "clip downloaded")
        return ClipResult(kind="video")

    async def _generate(self, task: RemoteTask, request: ClipRequest, ctx: StageContext) -> RemoteTask:
        body = {"img_id": int(task.extra["img_id"]), "prompt": request.prompt[:PROMPT_LIMIT],
                "model": self.settings.model, "duration": int(self.duration_for(request.duration)),
                "quality": self.settings.quality, "motion_mode": "normal", "negative_prompt": NEGATIVE_PROMPT,
                "seed": request.seed % (2**31 - 1), "water_mark": False}
        ctx.progress(0.1, "submitting to PixVerse")
        try:
            resp = await self.client.call("POST", "video/img/generate", json=body, trace_id=task.extra["trace_id"])
        except S2VError as exc:
            if getattr(exc, "err_code", 0):
                # PixVerse answered "no", so nothing exists under this trace id. Its answers are cached
                # per trace id, so the next try needs a new one (a lost answer keeps the old one).
                if isinstance(exc, TransientError):
                    fresh = {**task.extra, "trace_id": str(uuid.uuid4())}
                    await ctx.remember_task(task.model_copy(update={"extra": fresh}))
                else:
                    await ctx.forget_task()
            raise
        video_id = str(resp.get("video_id") or "")
        if not video_id:
            raise BackendError("PixVerse accepted the job but returned no video_id")
        ctx.count_paid_call(PROVIDER)
        task = task.model_copy(update={"task_id": video_id})
        await ctx.remember_task(task)
        return task

    async def _poll(self, video_id: str, ctx: StageContext) -> str:
        started = time.monotonic()

        async def fetch() -> str | None:
            try:
                resp = await self.client.call("GET", f"video/result/{video_id}")
            except BackendError as exc:
                if getattr(exc, "err_code", 0) == NOT_FOUND:  # the video is gone: the next run generates anew
                    await ctx.forget_task()
                raise
            status = int(resp.get("status") or 0)
            if status == DONE and resp.get("url"):
                return str(resp["url"])
            if status in (MODERATED, FAILED):
                await ctx.forget_task()
                if status == MODERATED:
                    raise ContentRejectedError(MODERATION_MESSAGE, hint="PixVerse refunds moderated jobs")
                raise TaskFailedError(f"PixVerse video {video_id} failed (status 8)",
                                      hint="run again to generate it anew")
            elapsed = time.monotonic() - started
            ctx.progress(0.1 + 0.8 * elapsed / (elapsed + 60.0), f"generating ({elapsed:.0f}s)")
            return None

        return await poll_until(fetch, interval=self.settings.poll_interval, deadline=self.settings.poll_deadline,
                                what=f"PixVerse video {video_id}", max_interval=max(self.settings.poll_interval, 10.0),
                                log=lambda message: ctx.log(message, "warning"))

    async def aclose(self) -> None:
        await self.client.aclose()


def create(settings: Settings) -> PixVerseVideo:
    return PixVerseVideo(settings)
