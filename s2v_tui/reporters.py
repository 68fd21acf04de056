"""How `s2v --run` shows a run: JSON lines for machines, progress bars and a summary for people."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from s2v_tui.domain.errors import PERMANENT_CODES, S2VError, redact
from s2v_tui.domain.events import (
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
from s2v_tui.domain.project import Project

STAGE_LABELS = {"storyboard": "Storyboard", "keyframe": "Keyframes", "voice": "Narration", "clip": "Clips",
                "segment": "Segments", "final": "Final film"}


class Reporter(Protocol):
    def project_opened(self, path: Path, project: Project) -> None: ...
    def event(self, event: Event) -> None: ...
    def note(self, message: str) -> None: ...
    def error(self, exc: S2VError) -> None: ...
    def close(self) -> None: ...


class JsonReporter:
    """One JSON object per line on stdout: the engine's events, plus `error` for failures before a run.

    A reader that stops reading (`s2v --run X --json | head -1`) must not stop the render: once the
    pipe is closed, lines are dropped and the run goes on to the end (and its exit code).
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.closed = False

    def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(redact(text) + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed under us
            self.closed = True
            _silence(self.stream)

    def project_opened(self, path: Path, project: Project) -> None:
        self._write(json.dumps({"type": "project", "path": str(path), "id": project.id, "title": project.title,
                                "shots": len(project.shots)}, ensure_ascii=False))

    def event(self, event: Event) -> None:
        self._write(event.model_dump_json())

    def note(self, message: str) -> None:
        self._write(json.dumps({"type": "note", "message": message}, ensure_ascii=False))

    def error(self, exc: S2VError) -> None:
        self._write(json.dumps({"type": "error", "code": exc.code, "message": exc.message, "hint": exc.hint},
                               ensure_ascii=False))

    def close(self) -> None:
        pass


class _PipeSafe:
    """A text stream whose reader may go away (`s2v --run X 2>&1 | head`): writes after that are dropped."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ValueError):
                self.closed_by_reader = True
                _silence(self._stream)
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self.closed_by_reader = True
                _silence(self._stream)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _silence(stream: IO[str]) -> None:
    """Point the stream's file descriptor at /dev/null, so the interpreter's last flush cannot fail either."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


class HumanReporter:
    """A progress bar per stage (live on a terminal, line by line otherwise) and a final summary."""

    def __init__(self, stream: IO[str]) -> None:
        self.console = Console(file=_PipeSafe(stream), highlight=False, soft_wrap=True)  # type: ignore[arg-type]
        self.live = self.console.is_terminal
        self.progress = Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=self.console,
                                 disable=not self.live)
        self.tasks: dict[str, TaskID] = {}
        self.fractions: dict[tuple[str | None, str], float] = {}
        self.failed: dict[tuple[str, str], str] = {}
        """(stage, error) → the first shot that failed with it."""
        self.started = False

    def project_opened(self, path: Path, project: Project) -> None:
        self.console.print(f"[bold]s2v[/] {escape(project.title)} — {escape(str(path))}")

    def _bar(self, stage: str, total: int) -> TaskID:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(STAGE_LABELS[stage], total=total, note="")
        return self.tasks[stage]

    def _advance(self, stage: str, shot_id: str | None, note: str = "") -> None:
        task = self.tasks.get(stage)
        if task is None:
            return
        self.fractions.pop((shot_id, stage), None)
        self.progress.advance(task, 1)
        if note:
            self.progress.update(task, note=note)

    def event(self, event: Event) -> None:
        if isinstance(event, StageStarted) and event.stage == "storyboard":
            self.console.print(f"Writing the storyboard ({event.backend})…")
        elif isinstance(event, StoryboardReady):
            self.console.print(f"Storyboard: {event.shots} shots ({event.backend})")
        elif isinstance(event, RunStarted):
            self.progress.start()
            for stage in ("keyframe", "voice", "clip", "segment", "final"):
                self._bar(stage, event.shots if stage != "final" else 1)
            if event.paid_calls:
                calls = ", ".join(f"{k}: {v}" for k, v in event.paid_calls.items())
                self.console.print(f"Estimated paid calls: {calls}")
        elif isinstance(event, StageFinished) and event.stage in self.tasks:
            self._advance(event.stage, event.shot_id)
            if not self.live:
                what = "reused" if event.cached else f"built in {event.seconds:.1f}s"
                self.console.print(f"  {event.shot_id or 'film'} {event.stage}: {what}")
        elif isinstance(event, StageFailed):
            self._advance(event.stage, event.shot_id, note="[red]failures[/]")
            who, error = event.shot_id or "project", str(event.error)
            first = self.failed.setdefault((event.stage, error), who)  # a shared cause is printed once
            said = escape(error) if first == who else f"the same error as {escape(first)}"
            self.console.print(f"[red]✗ {who} {event.stage}:[/] {said}")
        elif isinstance(event, StageSkipped):
            self._advance(event.stage, event.shot_id)
        elif isinstance(event, StageProgress) and event.stage in self.tasks and event.shot_id is None:
            self.progress.update(self.tasks[event.stage], completed=event.fraction)
        elif isinstance(event, LogLine) and event.level in ("warning", "error"):
            self.console.print(f"[yellow]{event.shot_id or ''} {escape(event.message)}[/]")
        elif isinstance(event, RunFinished):
            self.progress.stop()
            self._summary(event)

    def _summary(self, event: RunFinished) -> None:
        colour = {"done": "green", "partial": "yellow", "failed": "red", "cancelled": "yellow"}[event.status]
        self.console.print(f"\n[bold {colour}]{event.status.upper()}[/] in {event.seconds:.1f}s")
        if event.final_path:
            self.console.print(f"  video    {escape(event.final_path)}  ({event.duration or 0:.1f}s)")
            self.console.print(f"  subtitles {escape(event.srt_path or '')}")
        table = Table("stage", "built", "reused", box=None, padding=(0, 2))
        for stage in ("keyframe", "voice", "clip", "segment", "final"):
            table.add_row(stage, str(event.built.get(stage, 0)), str(event.cached.get(stage, 0)))
        self.console.print(table)
        if event.paid_calls:
            self.console.print("  paid calls made: " + ", ".join(f"{k} {v}" for k, v in event.paid_calls.items()))
        alike: dict[tuple[str, str], list[str]] = {}  # one line for shots that failed the same way
        for failure in event.failures:
            alike.setdefault((failure.stage, str(failure.error)), []).append(failure.shot_id or "project")
        for (stage, error), shots in alike.items():
            self.console.print(f"  [red]✗[/] {escape(', '.join(shots))} {stage}: {escape(error)}")
        permanent = bool(event.failures) and all(f.error.code in PERMANENT_CODES for f in event.failures)
        if event.status == "cancelled" or (event.status in ("partial", "failed") and not permanent):
            self.console.print("  Finished work is kept; run the same command again to continue.")

    def note(self, message: str) -> None:
        self.console.print(f"[yellow]{escape(message)}[/]")

    def error(self, exc: S2VError) -> None:
        self.progress.stop()
        self.console.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            self.console.print(f"  → {escape(exc.hint)}")

    def close(self) -> None:
        self.progress.stop()
