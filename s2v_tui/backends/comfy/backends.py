"""ComfyUI keyframe (T2I) and clip (I2V) backends on the shared host pool, with failover.

A job runs on the least busy healthy host; if that host fails (unreachable, 5xx, stalled past its
deadline, restarted) it is marked down and the job moves to the next host, until every host has
been tried — then the engine's retry (with backoff) takes over. Workflow problems (a 400 naming a
node) and runtime errors (`execution_error`) fail the shot at once: another host would fail the same
way. The submitted prompt id is remembered in the project, so a run that was killed mid-job picks
up the same prompt's result instead of rendering it again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from s2v_tui.backends.base import (
    BackendInfo,
    ClipBackend,
    ClipRequest,
    ClipResult,
    KeyframeBackend,
    KeyframeRequest,
    StageContext,
)
from s2v_tui.backends.comfy.client import HostFailure
from s2v_tui.backends.comfy.job import PromptSpec, resume_prompt, run_prompt
from s2v_tui.backends.comfy.pool import HostPool, release_pool, shared_pool
from s2v_tui.backends.comfy.workflow import WorkflowTemplate, load_workflow
from s2v_tui.config import ComfySettings, Settings
from s2v_tui.domain.errors import BackendError, TransientError
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.probe import verify_image, verify_video

PROVIDER = "comfy"


class _ComfyBase:
    def __init__(self, settings: ComfySettings, template: WorkflowTemplate) -> None:
        self.settings = settings
        self.template = template
        self._pool: HostPool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self.info = BackendInfo(name="comfy", model=template.model, lane="comfy",
                                params={"workflow": template.source.rsplit("/", 1)[-1],
                                        "workflow_sha256": template.digest[:16]})

    def pool(self) -> HostPool:
        """The shared pool of the running loop (a backend may outlive a loop, e.g. in tests or the TUI)."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            self._pool, self._pool_loop = shared_pool(self.settings), loop
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None and self._pool_loop is asyncio.get_running_loop():
            await release_pool(self._pool)
        self._pool = self._pool_loop = None

    async def render(self, spec: PromptSpec, out: Path, ctx: StageContext) -> None:
        pool = self.pool()
        if await self._resume(pool, spec, out, ctx):
            return
        failed: list[str] = []  # each host gets one try per call, so this loop ends
        while True:
            async with pool.slot(exclude=failed) as host:

                async def remember(prompt_id: str, url: str = host.url) -> None:
                    await ctx.remember_task(RemoteTask(provider=PROVIDER, task_id=prompt_id,
                                                       input_hash=ctx.input_hash, extra={"host": url}))

                try:
                    await run_prompt(host, spec, out, ctx, self.settings, on_submitted=remember,
                                     deadline=self.settings.job_deadline)
                except HostFailure as exc:
                    pool.mark_down(host.url, exc.reason)
                    failed.append(host.url)
                    await ctx.forget_task()
                    ctx.log(f"{exc.message}; moving the job to another host", "warning")
                    continue
                except TransientError:
                    raise  # e.g. a broken download: the engine's retry resumes the same prompt
                except BackendError:
                    await ctx.forget_task()  # the prompt failed for good; a rerun submits anew
                    raise
            pool.mark_ok(host.url)
            await ctx.forget_task()
            return

    async def _resume(self, pool: HostPool, spec: PromptSpec, out: Path, ctx: StageContext) -> bool:
        task = ctx.pending_task
        if task is None or task.provider != PROVIDER:
            return False
        url = task.extra.get("host", "")
        done = False
        if pool.state(url) is not None:
            try:
                async with pool.slot(only=url.rstrip("/")) as host:
                    done = await resume_prompt(host, task.task_id, spec, out, ctx, self.settings,
                                               deadline=self.settings.job_deadline)
            except TransientError as exc:  # host gone or stalled: render it again elsewhere
                if isinstance(exc, HostFailure):
                    pool.mark_down(exc.host, exc.reason)
                ctx.log(f"cannot resume ComfyUI prompt {task.task_id}: {exc.message}", "warning")
            except BackendError:
                await ctx.forget_task()
                raise
        await ctx.forget_task()
        return done


class ComfyKeyframe(_ComfyBase, KeyframeBackend):
    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        width, height = self.template.fit_size(request.width, request.height)
        values = {"prompt": request.prompt, "negative": request.negative_prompt, "seed": request.seed,
                  "width": width, "height": height}
        await self.render(PromptSpec(self.template, values, "image", verify_image), out, ctx)


class ComfyClip(_ComfyBase, ClipBackend):
    def duration_for(self, seconds: float) -> float:
        return self.template.frame_count(seconds) / self.template.mapping.frames.fps

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        width, height = self.template.fit_size(request.width, request.height)
        rule = self.template.mapping.frames
        values = {"prompt": request.prompt, "seed": request.seed, "width": width, "height": height,
                  "length": self.template.frame_count(request.duration), "fps": rule.fps}
        spec = PromptSpec(self.template, values, "video", verify_video, upload=request.keyframe)
        await self.render(spec, out, ctx)
        return ClipResult(kind="video")


def create_keyframe(settings: Settings) -> ComfyKeyframe:
    comfy = settings.comfy
    return ComfyKeyframe(comfy, load_workflow("t2i", comfy.t2i_workflow, comfy.t2i_mapping))


def create_clip(settings: Settings) -> ComfyClip:
    comfy = settings.comfy
    return ComfyClip(comfy, load_workflow("i2v", comfy.i2v_workflow, comfy.i2v_mapping))
