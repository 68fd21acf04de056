"""Clips from DashScope Wan image-to-video (`wan2.5-i2v-preview`, `wan2.2-i2v-plus`, …).

submit (keyframe handed over per `image_handover`) → task id persisted in project.json → poll with
growing intervals → download → the engine probes the MP4. A retry or a rerun polls the stored task
(see `tasks.py`), so a crash mid-poll never pays twice. Wan only makes clips of a few fixed lengths;
`duration_for` picks the shortest one that covers the shot (the segment stage trims it to the shot).
"""

from __future__ import annotations

from pathlib import Path

from s2v_tui.backends.base import BackendInfo, ClipBackend, ClipRequest, ClipResult, StageContext
from s2v_tui.backends.dashscope.client import PROVIDER, DashScopeHttp
from s2v_tui.backends.dashscope.handover import KeyframeHandover
from s2v_tui.backends.dashscope.tasks import download_result, run_task
from s2v_tui.config import Settings
from s2v_tui.domain.errors import BackendError
from s2v_tui.media.probe import verify_video

SUBMIT_PATH = "services/aigc/video-generation/video-synthesis"
NEGATIVE_PROMPT = "blurry, distorted, low quality, watermark, subtitles, text"
PROMPT_LIMIT = 800
"""Characters of prompt the 2.1/2.2 models accept; longer prompts are refused, so cut at a sentence."""


def allowed_durations(model: str) -> tuple[int, ...]:
    """Clip lengths (s) each Wan family accepts (protocols.md §3.1)."""
    if model.startswith("wan2.6"):
        return (5, 10, 15)
    if model.startswith("wan2.5"):
        return (5, 10)
    if model.startswith("wanx2.1-i2v-turbo"):
        return (3, 4, 5)
    return (5,)


def clamp_duration(model: str, seconds: float) -> int:
    """The shortest allowed length covering `seconds`, else the longest."""
    options = allowed_durations(model)
    return next((d for d in options if d >= seconds - 1e-6), options[-1])


def fit_prompt(text: str, limit: int = PROMPT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in "。！？.!?")
    return cut[: end + 1] if end > limit // 2 else cut


class DashScopeVideo(ClipBackend):
    def __init__(self, settings: Settings, http: DashScopeHttp | None = None) -> None:
        self.settings = settings
        ds = settings.dashscope
        self.model = ds.video_model
        self.http = http or DashScopeHttp(ds)
        self.handover = KeyframeHandover(settings, self.http)
        self.info = BackendInfo(name="dashscope", model=self.model, lane="dashscope-video", paid_provider=PROVIDER,
                                params={"resolution": ds.video_resolution, "prompt_extend": ds.prompt_extend})

    def duration_for(self, seconds: float) -> float:
        return float(clamp_duration(self.model, seconds))

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        async def submit() -> str:
            ref = await self.handover.reference(request.keyframe, model=self.model,
                                                project_id=ctx.project_id,
                                                shot_id=ctx.shot_id)
            body = {
                "model": self.model,
                "input": {"prompt": fit_prompt(request.prompt), "negative_prompt": NEGATIVE_PROMPT,
                          "img_url": ref.url},
                "parameters": {"resolution": self.settings.dashscope.video_resolution,
                               "duration": clamp_duration(self.model, request.duration),
                               "prompt_extend": self.settings.dashscope.prompt_extend, "watermark": False,
                               "seed": request.seed % (2**31 - 1)},
            }
            ctx.progress(0.05, "submitting to Wan")
            answer = await self.http.call("POST", SUBMIT_PATH, json=body, async_task=True, oss_resolve=ref.oss_resolve)
            task_id = str((answer.get("output") or {}).get("task_id") or "")
            if not task_id:
                raise BackendError("DashScope accepted the video job but returned no task id")
            ctx.count_paid_call(PROVIDER)
            return task_id

        output = await run_task(self.http, ctx, what="video", submit=submit, extra={"model": self.model})
        url = output.get("video_url")
        if not url:
            await ctx.forget_task()
            raise BackendError("the Wan task succeeded without a video URL", hint="run again to submit a new task")
        await download_result(self.http, ctx, str(url), out, verify_video, what="clip",
                              attempts=self.settings.retry.download_attempts,
                              base_delay=self.settings.retry.base_delay)
        ctx.progress(1.0, "clip downloaded")
        return ClipResult(kind="video")

    async def aclose(self) -> None:
        await self.http.aclose()


def create(settings: Settings) -> DashScopeVideo:
    return DashScopeVideo(settings)
