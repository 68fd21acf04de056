"""ComfyUI keyframe (T2I) and clip (I2V) backends on the shared host pool, with failover.

A job runs on the healthy host with the shortest queue; if that host fails (unreachable, 5xx, stalled
past its deadline, restarted) it is marked down and the job moves to the next host, until every host
has been tried — then the engine's retry (with backoff) takes over. A job that has not started after
`start_timeout` in a queue behind other prompts moves to a host that is idle. The workflow is checked
once per host (`gate.py`): a host that refuses it is left out for it, and when every host refuses it
every shot fails at once with the same permanent `WorkflowRejectedError` — not retried, nothing
uploaded for it. Runtime errors (`execution_error`) fail the shot at once: another host would fail
the same way. The submitted prompt id is remembered in the project, so a run that was killed mid-job
picks up the same prompt's result instead of rendering it again.
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
from s2v_tui.backends.comfy.follow import JobMoved
from s2v_tui.backends.comfy.gate import Refused, WorkflowGate
from s2v_tui.backends.comfy.job import PromptSpec, resume_prompt, run_prompt
from s2v_tui.backends.comfy.pool import HostPool, Slot, release_pool, shared_pool
from s2v_tui.backends.comfy.validation import Rejection
from s2v_tui.backends.comfy.workflow import WorkflowTemplate, load_workflow
from s2v_tui.config import ComfySettings, Settings
from s2v_tui.domain.errors import BackendError, TransientError
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.probe import MediaInfo, probe, verify_image, verify_video

PROVIDER = "comfy"


class _ComfyBase:
    def __init__(self, settings: ComfySettings, template: WorkflowTemplate) -> None:
        self.settings = settings
        self.template = template
        self._pool: HostPool | None = None
        self._gate = WorkflowGate(template.source)
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self.info = BackendInfo(name="comfy", model=template.model, lane="comfy",
                                params={"workflow": template.source.rsplit("/", 1)[-1],
                                        "workflow_sha256": template.digest[:16]})

    def pool(self) -> HostPool:
        """The shared pool of the running loop (a backend may outlive a loop, e.g. in tests or the TUI)."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            self._pool, self._pool_loop = shared_pool(self.settings), loop
            self._gate = WorkflowGate(self.template.source)  # what the hosts said holds for this run only
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None and self._pool_loop is asyncio.get_running_loop():
            await release_pool(self._pool)
        self._pool = self._pool_loop = None

    async def render(self, spec: PromptSpec, out: Path, ctx: StageContext) -> None:
        pool = self.pool()
        if await self._resume(pool, spec, out, ctx):
            return
        failed: dict[str, str] = {}  # each host gets one try per call, so this loop ends
        refusals: dict[str, Rejection] = {}
        handover: Slot | None = None
        try:
            while True:
                refusals.update(self._gate.refused)
                if refusals and set(pool.urls) <= set(refusals):
                    raise self._gate.error({url: refusals[url] for url in pool.urls})
                skip = {**failed, **{url: "refuses the workflow" for url in refusals}}
                try:
                    slot, handover = handover or await pool.acquire(skip), None
                finally:
                    self._tell(pool, ctx)
                try:
                    await self._run(pool, slot, spec, out, ctx, skip)
                except Refused as exc:
                    refusals[exc.host] = exc.rejection
                    if self._gate.first_refusal(exc.host) and not set(pool.urls) <= set(refusals):
                        ctx.log(f"ComfyUI host {exc.host} cannot run {self.template.source}: {exc.rejection.text}; "
                                "it is left out for this workflow", "warning")
                    continue
                except JobMoved as exc:
                    handover = exc.slot
                    ctx.log(f"ComfyUI: moving the job to {handover.host.url}: {exc.reason}", "info")
                    await ctx.forget_task()
                    continue
                except HostFailure as exc:
                    pool.mark_down(exc.host, exc.reason)
                    failed[exc.host] = exc.reason
                    await ctx.forget_task()
                    ctx.log(f"{exc.message}; moving the job to another host", "warning")
                    continue
                finally:
                    slot.release()
                    self._tell(pool, ctx)
                pool.mark_ok(slot.host.url)
                return
        except BaseException:
            if handover is not None:  # cancelled between leaving one host and starting on the next
                handover.release()
            raise

    async def _run(self, pool: HostPool, slot: Slot, spec: PromptSpec, out: Path, ctx: StageContext,
                   skip: dict[str, str]) -> None:
        host = slot.host

        async def remember(prompt_id: str) -> None:
            slot.submitted()
            await ctx.remember_task(RemoteTask(provider=PROVIDER, task_id=prompt_id, input_hash=ctx.input_hash,
                                               extra={"host": host.url}))

        try:
            await run_prompt(host, spec, out, ctx, self.settings, deadline=self.settings.job_deadline,
                             gate=self._gate, on_submitted=remember,
                             idle_host=lambda: pool.claim_idle({**skip, host.url: "busy"}))
        except TransientError:
            raise  # e.g. a broken download: the engine's retry resumes the same prompt
        except BackendError:
            await ctx.forget_task()  # the prompt failed for good; a rerun submits anew
            raise
        await ctx.forget_task()

    @staticmethod
    def _tell(pool: HostPool, ctx: StageContext) -> None:
        for notice in pool.take_notices():
            ctx.log(notice, "warning")

    async def _resume(self, pool: HostPool, spec: PromptSpec, out: Path, ctx: StageContext) -> bool:
        task = ctx.pending_task
        if task is None or task.provider != PROVIDER:
            return False
        url = task.extra.get("host", "")
        done = False
        if pool.state(url) is not None:
            try:
                async with pool.slot(only=url.rstrip("/")) as slot:
                    done = await resume_prompt(slot.host, task.task_id, spec, out, ctx, self.settings,
                                               deadline=self.settings.job_deadline)
            except TransientError as exc:  # host gone or stalled: render it again elsewhere
                if isinstance(exc, HostFailure):
                    pool.mark_down(exc.host, exc.reason)
                ctx.log(f"cannot resume ComfyUI prompt {task.task_id}: {exc.message}", "warning")
            except BackendError:
                await ctx.forget_task()
                raise
            finally:
                self._tell(pool, ctx)
        await ctx.forget_task()
        return done


class ComfyKeyframe(_ComfyBase, KeyframeBackend):
    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        values = self.template.shot_values(prompt=request.prompt, negative=request.negative_prompt,
                                           seed=request.seed, width=request.width, height=request.height)
        await self.render(PromptSpec(self.template, values, "image", verify_image), out, ctx)


class ComfyClip(_ComfyBase, ClipBackend):
    def duration_for(self, seconds: float) -> float:
        return self.template.frame_count(seconds) / self.template.mapping.frames.fps

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        values = self.template.shot_values(prompt=request.prompt, seed=request.seed, width=request.width,
                                           height=request.height, seconds=request.duration)
        spec = PromptSpec(self.template, values, "video", verify_video, upload=request.keyframe)
        await self.render(spec, out, ctx)
        self._check_length(await asyncio.to_thread(probe, out), values["length"], ctx)
        return ClipResult(kind="video")

    def _check_length(self, made: MediaInfo, frames: int, ctx: StageContext) -> None:
        """Say so when the clip is not the length asked for: the mapping misreads how its node counts."""
        rule = self.template.mapping.frames
        got = made.video[0].frames if made.video and made.video[0].frames else round(made.duration * rule.fps)
        if abs(got - frames) <= max(1, frames // 20):
            return
        target = next(iter(self.template.targets("length")), None)
        if target is None:
            fix = "map `length` to the node input that sets the clip's frame count"
        else:
            scale = (target.scale or 1.0) * frames / max(got, 1)
            fix = (f"`length` goes to node {target.node} input {target.input!r}, which counts differently: "
                   f"set its `scale` to about {scale:.3g}")
        ctx.log(f"ComfyUI made a clip of {got} frames where {frames} were asked ({frames / rule.fps:.2f}s at "
                f"{rule.fps:g} fps); {fix} in the mapping of {self.template.source}", "warning")


def create_keyframe(settings: Settings) -> ComfyKeyframe:
    comfy = settings.comfy
    return ComfyKeyframe(comfy, load_workflow("t2i", comfy.t2i_workflow, comfy.t2i_mapping))


def create_clip(settings: Settings) -> ComfyClip:
    comfy = settings.comfy
    return ComfyClip(comfy, load_workflow("i2v", comfy.i2v_workflow, comfy.i2v_mapping))
