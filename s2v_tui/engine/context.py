"""Per-run state shared by the stages, and the `StageContext` each backend call receives."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from s2v_tui.config import Settings
from s2v_tui.domain.errors import redact
from s2v_tui.domain.events import Event, LogLine, StageName, StageProgress
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import RemoteTask, StageState
from s2v_tui.engine.lanes import Lanes
from s2v_tui.engine.saver import ProjectSaver
from s2v_tui.storage.atomic import sha256_file
from s2v_tui.storage.project_store import ProjectFolder

PROGRESS_INTERVAL = 0.25
"""Seconds between progress events of one stage (ffmpeg reports far more often)."""


class RunContext:
    """What every stage of one run shares: project, folder, settings, lanes, event sink, counters."""

    def __init__(self, project: Project, folder: ProjectFolder, settings: Settings, lanes: Lanes,
                 emit: Callable[[Event], None]) -> None:
        self.project = project
        self.folder = folder
        self.settings = settings
        self.lanes = lanes
        self.emit = emit
        self.paid_calls: Counter[str] = Counter()
        self.built: Counter[str] = Counter()
        self.cached: Counter[str] = Counter()
        self.saver = ProjectSaver(folder, project)

    async def save(self) -> None:
        """Persist the project now (durable on return): for what must survive a crash, like a task id."""
        await self.saver.save()

    def save_soon(self, then: Callable[[], None] | None = None) -> None:
        """Persist the project within half a second (what a crash may lose is recoverable from records)."""
        self.saver.save_soon(then)

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info",
            shot_id: str | None = None) -> None:
        self.emit(LogLine(level=level, message=redact(message), shot_id=shot_id))


class StageContextImpl:
    """The engine side of `backends.base.StageContext` for one stage of one shot (or the storyboard)."""

    def __init__(self, run: RunContext, shot_id: str | None, stage: StageName, state: StageState,
                 input_hash: str, workdir: Path) -> None:
        self.run = run
        self.shot_id = shot_id or "project"
        self.project_id = run.project.id
        self._event_shot = shot_id
        self.stage = stage
        self.state = state
        self.input_hash = input_hash
        self.workdir = workdir
        self._last_progress = 0.0
        self.moves: list[tuple[Path, str]] = []
        """Files the builder produced and where they go; moved into place only after the asset's record."""

    @property
    def pending_task(self) -> RemoteTask | None:
        task = self.state.task
        return task if task is not None and task.input_hash == self.input_hash else None

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        self.run.emit(StageProgress(shot_id=self._event_shot, stage=self.stage,
                                    fraction=max(0.0, min(1.0, fraction)), message=redact(message)))

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None:
        self.run.log(message, level, self._event_shot)

    async def remember_task(self, task: RemoteTask) -> None:
        self.state.task = task
        await self.run.save()

    async def forget_task(self) -> None:
        if self.state.task is not None:
            self.state.task = None
            self.run.save_soon()  # a task forgotten too late is polled once more, answers "failed", is forgotten

    def place(self, produced: Path, relative: str) -> str:
        """Put a produced file at its asset path when the stage commits; returns its sha256."""
        self.moves.append((produced, relative))
        return sha256_file(produced)

    def count_paid_call(self, provider: str) -> None:
        self.run.paid_calls[provider] += 1
