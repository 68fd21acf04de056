"""The engine: storyboard → per-shot DAG (keyframe ‖ voice → clip → segment) → final join.

`Engine.run` is an async iterator of typed events — the only interface front ends use. Shots run
concurrently (their backend calls queue in lanes); one failed shot never stops its siblings; the run
ends with `RunFinished`, a summary of what was built, reused, paid for and what failed and why.
Cancelling (a `CancelToken`, or cancelling the consuming task) stops running stages, kills ffmpeg,
removes scratch files and leaves the project saved and resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Collection, Coroutine
from typing import Any, Literal, TypeVar

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import STAGES, Settings
from s2v_tui.domain.errors import BadInputError, S2VError
from s2v_tui.domain.events import (
    ErrorInfo,
    Event,
    Failure,
    RunFinished,
    RunStarted,
    RunStatus,
    StageFailed,
    StageName,
    StageSkipped,
)
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset, Shot, StageStatus
from s2v_tui.engine import final_stage
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.context import RunContext
from s2v_tui.engine.lanes import Lanes, lane_widths
from s2v_tui.engine.plan import make_plan, music_file
from s2v_tui.engine.stages import StageError, StageRunner
from s2v_tui.engine.storyboard import generate, storyboard_request
from s2v_tui.preflight import missing_for_run
from s2v_tui.storage.project_store import ProjectFolder

T = TypeVar("T")
StoryboardMode = Literal["auto", "regenerate", "skip"]
_DONE = object()


async def _all_or_cancel(coros: list[Coroutine[Any, Any, T]], *, return_exceptions: bool = False) -> list[Any]:
    """Like gather, but when cancelled it waits for every child to finish cleaning up before re-raising,
    so "cancelled" is only reported once scratch files are gone and state is saved."""
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        return await asyncio.gather(*tasks, return_exceptions=return_exceptions)
    except asyncio.CancelledError:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()  # no-op when gather already did it; needed if the gather itself was cancelled early
        if pending:
            await asyncio.wait(pending)
        raise


class Engine:
    """Renders one project. Construct once per open project; `run` may be called repeatedly."""

    def __init__(self, folder: ProjectFolder, settings: Settings, backends: BackendSet | None = None) -> None:
        self.folder = folder
        self.settings = settings
        self.backends = backends or BackendSet.from_settings(settings)
        self.lanes = Lanes(lane_widths(settings))

    async def aclose(self) -> None:
        await self.backends.aclose()

    async def run(self, project: Project, *, shots: Collection[str] | None = None,
                  storyboard: StoryboardMode = "auto", final: bool = True,
                  cancel: CancelToken | None = None) -> AsyncIterator[Event]:
        """Build what is missing or stale and yield events as it goes.

        Args:
            project: the loaded project (mutated in place and saved as stages finish).
            shots: limit the work to these shot ids (the final join is skipped unless all are fresh).
            storyboard: "auto" makes shots only when there are none; "regenerate" remakes unlocked ones.
            final: join the segments into output/final.mp4.
            cancel: stop cleanly when set.
        """
        queue: asyncio.Queue[object] = asyncio.Queue()
        run = RunContext(project, self.folder, self.settings, self.lanes, queue.put_nowait)
        worker = asyncio.create_task(self._execute(run, shots, storyboard, final))
        watcher = asyncio.create_task(cancel.wait()) if cancel else None

        def finish(_: object) -> None:
            queue.put_nowait(_DONE)

        worker.add_done_callback(finish)
        if watcher:
            watcher.add_done_callback(lambda _: worker.cancel())
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                yield item  # type: ignore[misc]
            while not queue.empty():
                item = queue.get_nowait()
                if item is not _DONE:
                    yield item  # type: ignore[misc]
            if not worker.cancelled() and worker.exception() is not None:
                raise worker.exception()  # type: ignore[misc]  # a bug: surface it, don't swallow it
        finally:
            if watcher:
                watcher.cancel()
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    async def _execute(self, run: RunContext, shots: Collection[str] | None, storyboard: StoryboardMode,
                       final: bool) -> None:
        started = time.monotonic()
        project = run.project
        runner = StageRunner(run, self.backends)
        status: RunStatus = "failed"
        final_path = srt_path = None
        duration = None
        # Hashing assets to see which stages will run can take a moment on a big project: off the loop.
        refused = await asyncio.to_thread(self.refusals, project, shots, storyboard)
        if refused:  # refused before anything is written: the project stays exactly as it was
            failures = [Failure(shot_id=None, stage=stage, error=ErrorInfo.from_exception(exc)) for stage, exc in refused]
            for failure in failures:
                run.emit(StageFailed(shot_id=None, stage=failure.stage, error=failure.error))
            run.emit(RunFinished(status="failed", failures=failures, seconds=round(time.monotonic() - started, 3)))
            return
        try:
            self._reset_interrupted(project)
            self.folder.clear_scratch()  # scratch of a killed run
            storyboard_paid = self.backends.storyboard.info.paid_provider
            if storyboard == "regenerate" or (storyboard == "auto" and not project.shots):
                if storyboard_paid:
                    run.log(f"the storyboard makes 1 paid call to {storyboard_paid}")
                try:
                    await generate(run, self.backends.storyboard)
                except S2VError as exc:
                    project.storyboard.status, project.storyboard.error = StageStatus.FAILED, str(exc)
                    await run.save()
                    info = ErrorInfo.from_exception(exc)
                    runner.failures.append((None, "storyboard", info))
                    run.emit(StageFailed(shot_id=None, stage="storyboard", error=info))
                    return
            selected = self._select(project, shots)
            # Hashing asset files can take a while on a big project: off the loop, so front ends stay live.
            plan = await asyncio.to_thread(make_plan, project, self.folder, self.settings, self.backends)
            paid = dict(plan.paid_calls)
            if storyboard_paid and project.storyboard.status == StageStatus.DONE and run.paid_calls[storyboard_paid]:
                paid[storyboard_paid] = paid.get(storyboard_paid, 0) + run.paid_calls[storyboard_paid]
            run.emit(RunStarted(project_id=project.id, project_dir=str(self.folder.path), shots=len(selected),
                                to_build=plan.to_build, cached=plan.cached, paid_calls=paid))
            results = await _all_or_cancel([self._shot(runner, shot) for shot in selected])
            segments = [seg for seg in results if seg is not None]
            complete = len(segments) == len(project.shots) and len(selected) == len(project.shots)
            if final and segments and (complete or self.settings.render.allow_partial and shots is None):
                with contextlib.suppress(StageError):
                    asset = await final_stage.join(run, runner, segments)
                    final_path = str(self.folder.resolve(asset.path))
                    srt_path = str(self.folder.resolve(project.render.srt.path)) if project.render.srt else None
                    duration = project.render.duration
            status = ("partial" if segments else "failed") if runner.failures else "done"
        except S2VError as exc:  # project-level problems: no shots, unknown ids, bad music file…
            info = ErrorInfo.from_exception(exc)
            runner.failures.append((None, "final", info))
            run.emit(StageFailed(shot_id=None, stage="final", error=info))
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:
            self._reset_interrupted(project)
            with contextlib.suppress(S2VError, OSError):
                run.saver.flush_sync()  # synchronously: even a cancelled run leaves a consistent file
            failures = [Failure(shot_id=s, stage=st, error=e) for s, st, e in runner.failures]
            run.emit(RunFinished(status=status, final_path=final_path, srt_path=srt_path, duration=duration,
                                 failures=failures, built=dict(run.built), cached=dict(run.cached),
                                 paid_calls=dict(run.paid_calls), seconds=round(time.monotonic() - started, 3)))

    def refusals(self, project: Project, shots: Collection[str] | None,
                 storyboard: StoryboardMode = "auto") -> list[tuple[StageName, S2VError]]:
        """Why a run must not start, found before it writes anything, each with the stage it concerns:
        links in the project's own folders, music outside the project, a script with no words, unknown
        shot ids — and, for the stages this run will really call, a backend's missing key or server
        (`preflight`), so ten shots do not fail ten times for one missing key."""
        try:
            self.folder.check_tree()
            music_file(project, self.folder)
        except S2VError as exc:
            return [("final", exc)]
        if storyboard == "regenerate" or (storyboard == "auto" and not project.shots):
            try:
                storyboard_request(project)
            except S2VError as exc:
                return [("storyboard", exc)]
            calls: set[str] = set(STAGES)  # a new storyboard: every shot will be made
        else:
            try:
                selected = {shot.id for shot in self._select(project, shots)}
            except S2VError as exc:
                return [("final", exc)]
            plan = make_plan(project, self.folder, self.settings, self.backends)
            calls = {stage for shot_id, row in plan.shots.items() if shot_id in selected
                     for stage, fresh in row.items() if fresh != "fresh"}
        return [(missing.stage, missing.error()) for missing in missing_for_run(self.settings, calls)]  # type: ignore[misc]

    @staticmethod
    def _select(project: Project, shots: Collection[str] | None) -> list[Shot]:
        if not project.shots:
            raise BadInputError("the project has no shots", hint="generate a storyboard first")
        if shots is None:
            return list(project.shots)
        wanted = set(shots)
        unknown = wanted - {shot.id for shot in project.shots}
        if unknown:
            raise BadInputError(f"unknown shot ids: {', '.join(sorted(unknown))}",
                                hint=f"the project's shots: {', '.join(shot.id for shot in project.shots)}")
        return [shot for shot in project.shots if shot.id in wanted]

    @staticmethod
    def _reset_interrupted(project: Project) -> None:
        """Stages a killed process left "running" are pending again (their task ids are kept)."""
        for shot in project.shots:
            for state in shot.stages.values():
                if state.status == StageStatus.RUNNING:
                    state.status = StageStatus.PENDING

    async def _shot(self, runner: StageRunner, shot: Shot) -> Asset | None:
        """keyframe ‖ voice → clip → segment for one shot; None if any stage failed."""
        keyframe, voice = await _all_or_cancel([runner.keyframe(shot), runner.voice(shot)], return_exceptions=True)
        for outcome in (keyframe, voice):
            if isinstance(outcome, BaseException) and not isinstance(outcome, StageError):
                raise outcome
        if isinstance(keyframe, StageError) or isinstance(voice, StageError):
            failed = "keyframe" if isinstance(keyframe, StageError) else "voice"
            for stage in ("clip", "segment"):
                runner.run.emit(StageSkipped(shot_id=shot.id, stage=stage, reason=f"{failed} failed"))
            return None
        assert isinstance(keyframe, Asset) and isinstance(voice, Asset)
        try:
            clip = await runner.clip(shot, keyframe, voice)
        except StageError:
            runner.run.emit(StageSkipped(shot_id=shot.id, stage="segment", reason="clip failed"))
            return None
        try:
            return await runner.segment(shot, keyframe, clip, voice)
        except StageError:
            return None
