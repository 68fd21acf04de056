"""The studio's jobs: storyboard, render and regenerate runs in a worker, and what their events change.

Every engine call runs in one exclusive async worker (group "engine") that only iterates
`StudioSession.run` and posts `EngineEvent`s; the handlers below turn them into status cells, bars,
log lines and notifications. A backend error is an event, never an exception that reaches the app,
and anything unexpected ends the job with an error message instead of ending the app.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.timer import Timer
from textual.widgets import Static

from s2v_tui.domain.events import (
    ArtifactReady,
    ErrorInfo,
    Event,
    LogLine,
    RunFinished,
    RunStarted,
    StageFailed,
    StageFinished,
    StageProgress,
    StageSkipped,
    StageStarted,
    StoryboardReady,
)
from s2v_tui.preflight import missing_for_run
from s2v_tui.tui.messages import EngineEvent, JobEnded
from s2v_tui.tui.run_checks import advice, stages_to_call
from s2v_tui.tui.tally import RunTally
from s2v_tui.tui.widgets.render_pane import RenderPane, headline, human_duration, set_text
from s2v_tui.tui.words import fit_parts, plural

if TYPE_CHECKING:
    from s2v_tui.tui.screens.studio import StudioScreen

PLAYERS = ("mpv", "ffplay", "vlc", "xdg-open", "open")
"""Tried in order by "play"; over SSH (no display) none is used and the path is shown instead."""


class JobsMixin:
    """Job control for `StudioScreen` (kept apart to keep each module readable)."""

    def init_jobs(self: StudioScreen) -> None:  # type: ignore[misc]
        self.job: str | None = None
        self.last_result = ""
        """How the last job ended ("render: done in 5.8s"), kept on the status line."""
        self.last_headline = ""
        """The same, as the render pane's headline (with the main failure, if any)."""
        self.tally = RunTally()
        self.job_started = 0.0
        self._status_timer: Timer | None = None

    def refuse_if_busy(self: StudioScreen) -> bool:  # type: ignore[misc]
        if self.job is not None:
            self.notify(f"{self.job} is running — wait for it or press escape to cancel it", severity="warning")
            return True
        return False

    # -- starting ----------------------------------------------------------------------------
    def start_job(self: StudioScreen, job: str, events: Callable[[], AsyncIterator[Event]], *,  # type: ignore[misc]
                  whole_project: bool, final: bool) -> None:
        self.job, self.job_started = job, time.monotonic()
        self.app.freeze_long_lived()  # type: ignore[attr-defined]  # no long GC pauses during the job
        self.set_editable()
        self.tally = RunTally(job, whole_project=whole_project, final=final)
        pane = self.query_one(RenderPane)
        pane.show_tally(self.tally)
        pane.show_job_started(job, whole_project=whole_project)
        self.log_line("info", f"{job}: started")
        self.update_status()
        self.run_engine(job, events)

    def ready_to_run(self: StudioScreen, job: str, stages: Collection[str]) -> bool:  # type: ignore[misc]
        """Check once, before anything starts, that the backends `job` will call have their keys and
        endpoints; if not, say so once — what is missing, how to set it, which backend does without."""
        missing = missing_for_run(self.session.settings, stages)
        if not missing:
            return True
        short, full = advice(missing)
        self.log_line("error", f"{job}: not started — {full}")
        self.notify(short, title=f"{job}: not started", severity="error", timeout=12)
        self.tally = RunTally.refused(job, f"{missing[0].stage} needs {missing[0].needs}")
        self.query_one(RenderPane).show_tally(self.tally)
        self.last_result = f"{job}: not started ({missing[0].needs} is not set)"
        self.last_headline = headline(self.tally)
        self.update_status()
        return False

    def start_storyboard(self: StudioScreen) -> None:  # type: ignore[misc]
        self.start_job("storyboard", self.session.generate_storyboard, whole_project=False, final=False)

    def start_render(self: StudioScreen) -> None:  # type: ignore[misc]
        if self.ready_to_run("render", stages_to_call(self.plan)):
            self.start_job("render", self.session.run, whole_project=True, final=True)

    def start_shot_job(self: StudioScreen, shot_id: str, job: str) -> None:  # type: ignore[misc]
        self.start_job(job, lambda: self.session.run(shots=[shot_id], final=False), whole_project=False,
                       final=False)

    @work(exclusive=True, group="engine", exit_on_error=False, description="engine run")
    async def run_engine(self: StudioScreen, job: str,  # type: ignore[misc]
                         events: Callable[[], AsyncIterator[Event]]) -> None:
        error: ErrorInfo | None = None
        cancelled = False
        try:
            async for event in events():
                self.post_message(EngineEvent(event, job))
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:  # noqa: BLE001 - S2VError or a bug: either way a message, not a crash
            error = ErrorInfo.from_exception(exc)
        finally:
            self.post_message(JobEnded(job, error=error, cancelled=cancelled))

    def action_cancel_job(self: StudioScreen) -> None:  # type: ignore[misc]
        left = self.leave_field()  # escape leaves a text field first
        if self.job is None:
            if not left and self.app.focused is None:
                self.show_pane(self.active_pane)
            return
        if not self.session.cancel():
            self.workers.cancel_group(self, "engine")  # not started yet: nothing to clean up
        self.log_line("warning", f"{self.job}: cancelling — finished work is kept")
        self.notify("cancelling… finished work is kept", timeout=3)

    # -- events ------------------------------------------------------------------------------
    def on_engine_event(self: StudioScreen, message: EngineEvent) -> None:  # type: ignore[misc]
        event = message.event
        self.tally.apply(event)
        shot = getattr(event, "shot_id", None)
        stage = getattr(event, "stage", None)
        shot_stage = shot is not None and stage in ("keyframe", "voice", "clip", "segment")
        if isinstance(event, StageStarted):
            if shot_stage:
                self.live[(shot, stage)] = "running:0"
                self.shot_list.set_status(shot, stage, "running:0")
            self.log_line("debug", f"{stage} started ({event.backend})", shot, event.ts)
        elif isinstance(event, StageProgress):
            if shot_stage:
                self.live[(shot, stage)] = f"running:{round(event.fraction * 100)}"
                self.shot_list.set_status(shot, stage, self.live[(shot, stage)])
        elif isinstance(event, StageFinished):
            self._settle(shot, stage, "done", shot_stage)
            how = "reused from cache" if event.cached else f"done in {event.seconds:.1f}s"
            self.log_line("info", f"{stage} {how}", shot, event.ts)
        elif isinstance(event, StageFailed):
            self._settle(shot, stage, "failed", shot_stage)
            self.log_line("error", f"{stage} failed: {event.error}", shot, event.ts)
            # One notification per distinct problem: the app replaces a toast with the same text, and
            # the title counts the shots it hit (the log names each shot).
            count = self.tally.failure_reasons[(stage, event.error.message)]
            where = f"{stage} failed" + (f" for {count} shots" if count > 1 else f" ({shot})" if shot else "")
            self.notify(str(event.error), title=where, severity="error", timeout=8)
        elif isinstance(event, StageSkipped):
            self._settle(shot, stage, "skipped", shot_stage)
            self.log_line("warning", f"{stage} skipped: {event.reason}", shot, event.ts)
        elif isinstance(event, ArtifactReady):
            if shot is not None and shot == self.selected_shot and stage in ("keyframe", "clip"):
                self.load_preview(shot)
        elif isinstance(event, StoryboardReady):
            self.log_line("info", f"storyboard: {plural(event.shots, 'shot')} ({event.backend})", None, event.ts)
            self.plan = None
            self.refresh_rows()
            self.update_title()
            self.show_selected()
            if self.has_class("-narrow") and self.active_pane == "script":
                self.show_pane("shots")  # show what was made
        elif isinstance(event, LogLine):
            self.log_line(event.level, event.message, event.shot_id, event.ts)
        elif isinstance(event, RunStarted) and event.shots:
            build = ", ".join(f"{k} {v}" for k, v in event.to_build.items() if v) or "nothing"
            cached = ", ".join(f"{k} {v}" for k, v in event.cached.items() if v) or "nothing"
            self.log_line("info", f"{message.job}: {plural(event.shots, 'shot')} · to build: {build} · cached: {cached}",
                          None, event.ts)
            self.query_one(RenderPane).show_plan(f"this run builds {build}" + (
                f" · reuses {cached}" if cached != "nothing" else ""))
        elif isinstance(event, RunFinished):
            self._finished(message.job, event)
        self.query_one(RenderPane).show_tally(self.tally, eta=self.eta_text())
        if self._status_timer is None:  # the status line follows the run a few times a second
            self._status_timer = self.set_timer(0.2, self.update_status)

    def _settle(self: StudioScreen, shot: str | None, stage: str | None, status: str,  # type: ignore[misc]
                shot_stage: bool) -> None:
        if shot_stage:
            self.live.pop((shot, stage), None)  # type: ignore[arg-type]
            self.shot_list.set_status(shot, stage, status)  # type: ignore[arg-type]

    def _finished(self: StudioScreen, job: str, event: RunFinished) -> None:  # type: ignore[misc]
        built = sum(event.built.values())
        cached = sum(event.cached.values())
        summary = f"{job}: {event.status} in {event.seconds:.1f}s"
        if job == "storyboard":
            summary += f" — {plural(len(self.session.project.shots), 'shot')}"
        elif built or cached:
            summary += f" — {built} built, {cached} reused"
        if event.final_path:
            summary += f" · final {human_duration(event.duration)}"
        level = "info" if event.status == "done" else "warning" if event.status == "cancelled" else "error"
        self.log_line(level, summary, None, event.ts)
        for failure in event.failures:
            hint = f" — {failure.error.hint}" if failure.error.hint else ""
            self.log_line("error", f"{failure.stage}: {failure.error.message}{hint}", failure.shot_id, event.ts)
        severity = {"done": "information", "cancelled": "warning"}.get(event.status, "error")
        self.notify(summary, title=job, severity=severity, timeout=5)  # type: ignore[arg-type]

    def on_job_ended(self: StudioScreen, message: JobEnded) -> None:  # type: ignore[misc]
        if message.error is not None:
            self.report_error(message.job, message.error.message, message.error.hint)
            self.tally.status = "failed"
        elif message.cancelled and self.tally.status == "running":
            self.tally.status = "cancelled"
        took = f" in {self.tally.seconds:.1f}s" if self.tally.seconds is not None else ""
        self.last_result = f"{message.job}: {self.tally.status}{took}"
        self.last_headline = headline(self.tally)
        self.job = None
        self.set_editable()
        self.live.clear()
        self.query_one(RenderPane).show_tally(self.tally)
        self.update_status()
        self.update_title()
        self.show_selected()
        self.refresh_plan()

    def update_status(self: StudioScreen) -> None:  # type: ignore[misc]
        self._status_timer = None
        line = self.query_one("#status-line", Static)
        if self.session.read_only:
            parts = ["read-only", "close the other s2v to edit or render", "? help"]
        elif self.job is None:
            parts = [self.last_result or "ready", "R render", "g storyboard", "? help", "ctrl+p commands"]
        else:
            eta = self.eta_text()
            parts = [f"{self.job}: {100 * self.tally.fraction:.0f}%", *([eta] if eta else []), "escape cancels"]
        set_text(line, fit_parts(parts, max(20, self.size.width - 2)))
        line.set_class(self.job is not None, "-running")

    def eta_text(self: StudioScreen) -> str:  # type: ignore[misc]
        """"ETA 1m 05s" for the running job (weighted by stage cost, see `tally`), "" when unknown."""
        if self.job is None:
            return ""
        seconds = self.tally.eta(time.monotonic() - self.job_started)
        if seconds is None:
            return ""
        minutes, rest = divmod(round(seconds), 60)
        return f"ETA {minutes}m {rest:02d}s" if minutes else f"ETA {rest}s"

    # -- the final video ---------------------------------------------------------------------
    def share_path(self: StudioScreen, what: str, path: Path, note: str = "") -> None:  # type: ignore[misc]
        """A path the user wants: whole on one log line, on the clipboard, and a short toast saying so
        (a toast wraps long paths and cannot be copied from)."""
        self.log_line("info", f"{what}: {path}", wrap=False)
        self.app.copy_to_clipboard(str(path))
        self.notify(f"{note}path copied · also in the log (6)", title=what, timeout=4)

    async def action_copy_path(self: StudioScreen) -> None:  # type: ignore[misc]
        info = await self.session.final_info()
        if info is not None:
            self.share_path("final video", info.path)
        else:
            self.share_path("project folder", self.session.folder.path)

    async def action_open_folder(self: StudioScreen) -> None:  # type: ignore[misc]
        folder = self.session.folder.path
        opener = _player(("xdg-open", "open"))
        if opener is not None:
            _launch(opener, folder)
        self.share_path("project folder", folder, "opened · " if opener else "")

    async def action_play(self: StudioScreen) -> None:  # type: ignore[misc]
        info = await self.session.final_info()
        if info is None:
            self.notify("no final video yet — press R to render", severity="warning")
            return
        player = _player()
        if player is None:
            self.share_path("final video", info.path, "no video player here · ")
            return
        _launch(player, info.path)
        self.log_line("info", f"playing with {os.path.basename(player)}: {info.path}", wrap=False)
        self.notify(f"playing with {os.path.basename(player)}", timeout=3)


def _launch(program: str, path: Path) -> None:
    subprocess.Popen([program, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def _player(names: tuple[str, ...] = PLAYERS) -> str | None:
    """A graphical program, only when there is a display to show it on (never over plain SSH)."""
    has_display = sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not has_display:
        return None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None
