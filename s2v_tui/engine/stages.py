"""The stages of one shot (keyframe, voice, clip, segment) and the final join, with their cache.

`_stage` is the one place that decides reuse vs. rebuild, moves state through running/done/failed,
persists it, emits events, applies lanes and retries, and cleans up scratch files whatever happens.
Outputs are written in a scratch folder and moved into `assets/` (content-addressed names) only once
verified, so a SIGKILL at any instant leaves either the old asset or the new one, never a torn file.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from PIL import Image

from s2v_tui.backends.base import BackendInfo, ClipRequest, KeyframeRequest, VoiceRequest
from s2v_tui.backends.registry import BackendSet
from s2v_tui.domain.errors import BadInputError, MediaError, S2VError
from s2v_tui.domain.events import ArtifactReady, ErrorInfo, StageFailed, StageFinished, StageName, StageStarted
from s2v_tui.domain.shot import Asset, Shot, Stage, StageState, StageStatus, Take, utcnow
from s2v_tui.domain.takes import add_take, pin_holds
from s2v_tui.domain.text import has_words
from s2v_tui.engine import recipes
from s2v_tui.engine.cancel import finish_in_thread
from s2v_tui.engine.context import RunContext, StageContextImpl
from s2v_tui.engine.retry import with_retries
from s2v_tui.engine.takes import TakeInfo, choice_key, drop_asset, usable
from s2v_tui.faults import fault_point
from s2v_tui.media.cue_overlay import cue_overlays
from s2v_tui.media.fonts import cjk_font
from s2v_tui.media.kenburns import MEDIA_TYPE as MOTION_TYPE
from s2v_tui.media.kenburns import MotionPlan, MotionRenderer
from s2v_tui.media.loudness import gain_db, measure_file
from s2v_tui.media.probe import probe, verify_audio, verify_image, verify_video
from s2v_tui.media.segment import SegmentJob, SegmentSource, encode_segment
from s2v_tui.media.subtitles import Cue, WordTiming, build_cues, layout_for, write_ass

Builder = Callable[[StageContextImpl], Awaitable[Asset]]


class StageError(Exception):
    """A stage failed (already reported); downstream stages of that shot are skipped."""

    def __init__(self, stage: StageName, info: ErrorInfo) -> None:
        super().__init__(str(info))
        self.stage = stage
        self.info = info


class StageRunner:
    def __init__(self, run: RunContext, backends: BackendSet) -> None:
        self.run = run
        self.backends = backends
        self.project = run.project
        self.folder = run.folder
        self.render = run.settings.render
        self.enc = recipes.encode_settings(self.project, self.render)
        self.failures: list[tuple[str | None, StageName, ErrorInfo]] = []

    # -- the generic stage -------------------------------------------------------------------
    def reuse(self, owner: str, stage: StageName, state: StageState, input_hash: str,
              take: TakeInfo | None = None) -> Asset | None:
        """The asset for these inputs without building: the user's choice while it holds, the current
        asset or a kept take made from these inputs (`engine.takes.usable`), or one whose record and files
        a killed run left complete on disk (adopted, so nothing is made or paid twice)."""
        key = take.key if take else None
        if state.pin is not None and not pin_holds(state, key):
            state.pin = None  # the shot's content changed since the user chose: the stage follows it again
            self.run.save_soon()
        found = usable(self.folder, state, input_hash, key)
        if state.pin is not None and (found is None or state.asset is None or found.path != state.asset.path):
            self.run.log(f"{stage}: the chosen take's file is missing or changed on disk; making a new one",
                         "warning", None if owner == "film" else owner)
        if found is not None:
            if state.asset is None or found.path != state.asset.path:
                self.install(owner, stage, state, found, take)  # a kept take made from these very inputs
            return found
        adopted = self.folder.records.adoptable(owner, stage, input_hash, self.folder.asset_ok)
        if adopted is not None:
            self.run.log(f"{stage}: adopted {adopted.path}, complete on disk from an interrupted run", "info",
                         None if owner == "film" else owner)
            state.task = None
            self.install(owner, stage, state, adopted, take)
        return adopted

    def install(self, owner: str, stage: StageName, state: StageState, asset: Asset, take: TakeInfo | None) -> None:
        """Make `asset` the stage's asset (kept as a take by stages that keep them); what it replaces, and
        takes pruned beyond the cap, are deleted once project.json names the new asset."""
        old = state.asset
        pruned: list[Take] = []
        if take is not None:
            pruned = add_take(state, asset, take.prompt, keep=self.run.settings.takes.keep)
        else:
            state.asset = asset
        state.pin = None

        def clean_up() -> None:
            self.discard(owner, stage, old, asset)
            for dropped in pruned:
                self.discard(owner, stage, dropped.asset, asset)

        self.run.save_soon(then=clean_up)

    async def run_stage(self, shot: Shot | None, stage: StageName, state: StageState, input_hash: str,
                        info: BackendInfo, lane: str, build: Builder, take: TakeInfo | None = None) -> Asset:
        shot_id = shot.id if shot else None
        owner = shot_id or "film"
        reused = self.reuse(owner, stage, state, input_hash, take)
        if reused is not None:
            if state.status != StageStatus.DONE or state.error:
                state.status, state.error = StageStatus.DONE, None
            self.run.cached[stage] += 1
            self.run.emit(StageFinished(shot_id=shot_id, stage=stage, path=reused.path, cached=True))
            return reused
        previous_status = state.status
        state.status, state.error = StageStatus.RUNNING, None  # saved with the outcome, not on its own
        self.run.emit(StageStarted(shot_id=shot_id, stage=stage, backend=info.name))
        started = time.monotonic()
        workdir = self.folder.scratch_dir(f"{owner}-{stage}-{uuid.uuid4().hex[:8]}")
        try:
            async with self.run.lanes(lane):
                started = time.monotonic()  # time the work, not the wait for a free lane
                ctx = StageContextImpl(self.run, shot_id, stage, state, input_hash, workdir)

                def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
                    ctx.log(f"{stage}: {exc} — retrying in {delay:.1f}s (attempt {attempt + 1})", "warning")

                async def attempt() -> Asset:
                    ctx.moves.clear()
                    return await build(ctx)

                asset = await with_retries(attempt, self.run.settings.retry, on_retry=on_retry)
                await finish_in_thread(self.folder.records.commit, owner, stage, asset, list(ctx.moves))
                fault_point("place")
        except asyncio.CancelledError:
            # No await here: a second cancellation could interrupt it. The engine saves once at the end.
            state.status = previous_status if previous_status != StageStatus.RUNNING else StageStatus.PENDING
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reported stage failure
            error = ErrorInfo.from_exception(exc)
            if not isinstance(exc, S2VError):
                self.run.log(f"internal error in {stage}: {error.message}", "error", shot_id)
            state.status, state.error = StageStatus.FAILED, str(error)
            self.run.save_soon()
            self.failures.append((shot_id, stage, error))
            self.run.emit(StageFailed(shot_id=shot_id, stage=stage, error=error))
            raise StageError(stage, error) from exc
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        state.status, state.error = StageStatus.DONE, None
        state.task = None  # the remote task is paid for and its result stored: nothing left to resume
        self.install(owner, stage, state, asset, take)
        self.run.built[stage] += 1
        self.run.emit(StageFinished(shot_id=shot_id, stage=stage, path=asset.path,
                                    seconds=round(time.monotonic() - started, 3)))
        self.run.emit(ArtifactReady(shot_id=shot_id, stage=stage, path=asset.path, media_type=asset.media_type))
        return asset

    def discard(self, owner: str, stage: str, old: Asset | None, new: Asset) -> None:
        """Remove a superseded (or pruned) asset's files and record unless something still points at
        them — a take kept for the stage included (runs only once project.json names the new asset)."""
        if old is None or old.path == new.path:
            return
        drop_asset(self.folder, self.project, owner, stage, old, keep_record=old.input_hash == new.input_hash)

    def make_asset(self, info: BackendInfo, path: str, sha: str, media_type: str, input_hash: str,
               **meta: Any) -> Asset:
        return Asset(path=path, sha256=sha, media_type=media_type, backend=info.name, model=info.model,
                     params=info.params, input_hash=input_hash, created_at=utcnow(), meta=meta)

    # -- per-shot stages ---------------------------------------------------------------------
    async def keyframe(self, shot: Shot) -> Asset:
        backend = self.backends.keyframe
        info = backend.info
        input_hash = recipes.keyframe_hash(self.project, shot, info)
        request = KeyframeRequest(
            prompt=recipes.keyframe_prompt(self.project, shot, info), negative_prompt=recipes.NEGATIVE_PROMPT,
            width=self.project.format.width, height=self.project.format.height,
            seed=recipes.seed_for(self.project, shot, Stage.KEYFRAME), style=self.project.style,
            language=self.project.language, sequence=recipes.shot_number(shot), subject=shot.subject,
            detail=shot.detail, narration=shot.narration)

        async def build(ctx: StageContextImpl) -> Asset:
            out = ctx.workdir / "keyframe.img"
            await backend.keyframe(request, out, ctx)
            width, height = await asyncio.to_thread(verify_image, out)
            with Image.open(out) as image:
                ext = ".jpg" if image.format == "JPEG" else ".png"
            rel = self.folder.asset_relpath(shot.id, "keyframe", input_hash, ext)
            media_type = "image/jpeg" if ext == ".jpg" else "image/png"
            return self.make_asset(info, rel, ctx.place(out, rel), media_type, input_hash, width=width, height=height)

        take = TakeInfo(request.prompt, choice_key(self.project, shot, Stage.KEYFRAME))
        return await self.run_stage(shot, "keyframe", shot.stages[Stage.KEYFRAME], input_hash, info, info.lane, build,
                                    take)

    def voice_name(self) -> str | None:
        return self.project.voice.name

    async def voice(self, shot: Shot) -> Asset:
        backend = self.backends.voice
        info = backend.info
        input_hash = recipes.voice_hash(self.project, shot, info, self.voice_name(), self.render.sample_rate)
        request = VoiceRequest(text=shot.narration, language=self.project.language, voice=self.voice_name(),
                               rate=self.project.voice.rate, sample_rate=self.render.sample_rate, tone=shot.tone)

        async def build(ctx: StageContextImpl) -> Asset:
            if not has_words(shot.narration):
                raise BadInputError(f"{shot.id} has no words to narrate" if shot.narration.strip()
                                    else f"{shot.id} has no narration to speak",
                                    hint="write a narration line for it, or delete the shot")
            out = ctx.workdir / "voice.wav"
            result = await backend.speak(request, out, ctx)
            await asyncio.to_thread(verify_audio, out)
            lufs = await measure_file(out)
            rel = self.folder.asset_relpath(shot.id, "voice", input_hash, ".wav")
            return self.make_asset(info, rel, ctx.place(out, rel), "audio/wav", input_hash,
                               duration=round(result.duration, 4), lufs=lufs,
                               timings=[[t.char_start, round(t.start, 4)] for t in result.timings])

        take = TakeInfo(shot.narration, choice_key(self.project, shot, Stage.VOICE))
        return await self.run_stage(shot, "voice", shot.stages[Stage.VOICE], input_hash, info, info.lane, build, take)

    def seconds_of(self, shot: Shot, voice: Asset) -> float:
        return recipes.shot_seconds(shot, float(voice.meta.get("duration", 0.0)), self.render)

    async def clip(self, shot: Shot, keyframe: Asset, voice: Asset) -> Asset:
        backend = self.backends.clip
        info = backend.info
        seconds = backend.duration_for(self.seconds_of(shot, voice))
        input_hash = recipes.clip_hash(self.project, shot, info, keyframe, seconds)
        request = ClipRequest(
            keyframe=self.folder.resolve(keyframe.path),
            prompt=recipes.clip_prompt(self.project, shot, info, keyframe, seconds),
            camera=shot.camera, duration=seconds, width=self.project.format.width,
            height=self.project.format.height, fps=self.project.format.fps,
            seed=recipes.seed_for(self.project, shot, Stage.CLIP), sequence=recipes.shot_number(shot))

        async def build(ctx: StageContextImpl) -> Asset:
            out = ctx.workdir / "clip.mp4"
            result = await backend.clip(request, out, ctx)
            if result.kind == "motion":
                assert result.motion is not None
                plan_file = ctx.workdir / "clip.json"
                plan_file.write_text(result.motion.model_dump_json(indent=2), encoding="utf-8")
                rel = self.folder.asset_relpath(shot.id, "clip", input_hash, ".json")
                return self.make_asset(info, rel, ctx.place(plan_file, rel), MOTION_TYPE, input_hash,
                                   kind="motion", duration=seconds)
            media = await asyncio.to_thread(verify_video, out)
            rel = self.folder.asset_relpath(shot.id, "clip", input_hash, ".mp4")
            return self.make_asset(info, rel, ctx.place(out, rel), "video/mp4", input_hash, kind="video",
                               duration=round(media.duration, 4), width=media.video[0].width,
                               height=media.video[0].height)

        take = TakeInfo(request.prompt, choice_key(self.project, shot, Stage.CLIP, keyframe))
        return await self.run_stage(shot, "clip", shot.stages[Stage.CLIP], input_hash, info, info.lane, build, take)

    async def segment(self, shot: Shot, keyframe: Asset, clip: Asset, voice: Asset) -> Asset:
        frames = self.enc.frames_for(self.seconds_of(shot, voice))
        font = cjk_font()
        input_hash = recipes.segment_hash(self.project, shot, keyframe, clip, voice, frames, self.enc, font.family,
                                          self.render.loudness_lufs)
        info = BackendInfo(name="ffmpeg", model="libx264", lane="encode")
        fmt = self.project.format

        async def build(ctx: StageContextImpl) -> Asset:
            cues: list[Cue] = []
            ass_name = None
            layout = layout_for(fmt.width, fmt.height, self.project.subtitles.font_scale)
            if self.project.subtitles.enabled and shot.narration.strip():
                timings = [WordTiming(char_start=int(c), start=float(t)) for c, t in voice.meta.get("timings", [])]
                cues = build_cues(shot.narration, speech_seconds=float(voice.meta.get("duration", 0)),
                                  shot_seconds=frames / fmt.fps, timings=timings, layout=layout)
            if clip.meta.get("kind") == "motion":  # the renderer burns the cues itself, drawn once each
                plan = MotionPlan.model_validate_json(self.folder.resolve(clip.path).read_text(encoding="utf-8"))
                overlays = await asyncio.to_thread(cue_overlays, cues, width=fmt.width, height=fmt.height,
                                                   fps=fmt.fps, layout=layout)
                renderer = await asyncio.to_thread(MotionRenderer, self.folder.resolve(keyframe.path), plan,
                                                   (fmt.width, fmt.height), fmt.fps, frames, overlays)
                source = SegmentSource(motion=renderer)
            else:
                if cues:
                    ass_name = "subs.ass"
                    write_ass(cues, ctx.workdir / ass_name, width=fmt.width, height=fmt.height,
                              font_family=font.family, layout=layout)
                source = SegmentSource(clip=self.folder.resolve(clip.path),
                                       clip_duration=float(clip.meta.get("duration", 0)))
            out_mp4, out_wav = ctx.workdir / "segment.mp4", ctx.workdir / "segment.wav"
            voice_path = self.folder.resolve(voice.path)
            lufs = voice.meta["lufs"] if "lufs" in voice.meta else await measure_file(voice_path)
            job = SegmentJob(source, voice_wav=voice_path, subtitles_ass=ass_name, fonts_dir=font.folder,
                             frames=frames, enc=self.enc, out_mp4=out_mp4, out_wav=out_wav,
                             gain=gain_db(self.render.loudness_lufs, lufs))
            await encode_segment(job, workdir=ctx.workdir, on_progress=ctx.progress)
            media = await asyncio.to_thread(probe, out_mp4)  # our own encode: probing is enough
            if not media.video or media.video[0].frames not in (0, frames):
                raise MediaError(f"segment encode produced {media.video[0].frames if media.video else 0} frames, "
                                 f"expected {frames}")
            rel = self.folder.asset_relpath(shot.id, "segment", input_hash, ".mp4")
            rel_wav = self.folder.asset_relpath(shot.id, "segment", input_hash, ".wav")
            wav_sha = ctx.place(out_wav, rel_wav)
            return self.make_asset(info, rel, ctx.place(out_mp4, rel), "video/mp4", input_hash,
                               frames=frames, duration=frames / fmt.fps, wav=rel_wav, wav_sha256=wav_sha,
                               cues=[c.model_dump() for c in cues])

        return await self.run_stage(shot, "segment", shot.stages[Stage.SEGMENT], input_hash, info, "encode", build)
