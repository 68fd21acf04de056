"""Counting a run's events into what the render pane shows: per-stage done/cached/rebuilt/failed and %.

Pure bookkeeping (no Textual), so it is tested without a terminal and the widget only draws numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from s2v_tui.domain.events import (
    Event,
    RunFinished,
    RunStarted,
    StageFailed,
    StageFinished,
    StageProgress,
    StageSkipped,
    StageStarted,
)
from s2v_tui.engine.plan import Plan

STAGES = ("storyboard", "keyframe", "voice", "clip", "segment", "final")
SHOT_STAGES = ("keyframe", "voice", "clip", "segment")


@dataclass
class StageTally:
    total: int = 0
    built: int = 0
    cached: int = 0
    failed: int = 0
    skipped: int = 0
    running: dict[str | None, float] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return self.built + self.cached + self.failed + self.skipped

    @property
    def progress(self) -> float:
        """Finished items plus the fractions of running ones (never above `total`)."""
        return min(float(self.total), self.finished + sum(self.running.values()))

    def label(self) -> str:
        parts = [f"{self.finished}/{self.total}"]
        if self.cached:
            parts.append(f"{self.cached} cached")
        if self.built:
            parts.append(f"{self.built} rebuilt")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return " · ".join(parts)


class RunTally:
    """The counts of one job, updated event by event."""

    def __init__(self, job: str = "", *, whole_project: bool = True, final: bool = True) -> None:
        self.job = job
        self.whole_project = whole_project
        self.final = final
        self.stages = {stage: StageTally() for stage in STAGES}
        self.status = "running" if job else "idle"
        self.planned_build: dict[str, int] = {}
        self.planned_cached: dict[str, int] = {}
        self.seconds: float | None = None
        self.failure_reasons: Counter[tuple[str, str]] = Counter()
        """(stage, error message) → how many items failed with it."""
        self.note = ""
        """Why a job did not start, shown with its status."""

    @classmethod
    def refused(cls, job: str, note: str) -> RunTally:
        """A job that did not start (a key is missing…): nothing ran, `note` says why."""
        tally = cls(job)
        tally.status, tally.note = "not started", note
        return tally

    @property
    def main_failure(self) -> str:
        """The most common failure, "keyframe: no DashScope API key is configured (10 shots)"; "" if none."""
        if not self.failure_reasons:
            return ""
        (stage, message), count = self.failure_reasons.most_common(1)[0]
        return f"{stage}: {message}" + (f" ({count} shots)" if count > 1 else "")

    def apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            for stage in SHOT_STAGES:
                self.stages[stage].total = event.shots
            self.stages["final"].total = 1 if self.final and self.whole_project else 0
            self.planned_build, self.planned_cached = dict(event.to_build), dict(event.cached)
            return
        if isinstance(event, RunFinished):
            self.status, self.seconds = event.status, event.seconds
            for tally in self.stages.values():
                tally.running.clear()
            return
        stage = getattr(event, "stage", None)
        if stage not in self.stages:
            return
        tally = self.stages[stage]
        shot = getattr(event, "shot_id", None)
        if isinstance(event, StageStarted):
            tally.total = max(tally.total, 1)
            tally.running[shot] = 0.0
        elif isinstance(event, StageProgress):
            tally.running[shot] = event.fraction
        elif isinstance(event, StageFinished | StageFailed | StageSkipped):
            tally.running.pop(shot, None)
            if isinstance(event, StageFinished):
                if event.cached:
                    tally.cached += 1
                else:
                    tally.built += 1
            elif isinstance(event, StageFailed):
                tally.failed += 1
                self.failure_reasons[(stage, event.error.message)] += 1
            else:
                tally.skipped += 1
            tally.total = max(tally.total, tally.finished)

    @property
    def total(self) -> int:
        return sum(t.total for t in self.stages.values())

    @property
    def progress(self) -> float:
        return sum(t.progress for t in self.stages.values())


def plan_summary(plan: Plan) -> str:
    """"rebuild: keyframe 2, clip 2 · cached: voice 5" — what the next full render would do."""
    if not plan.shots:
        return "nothing to render yet — generate a storyboard (g)"
    order = [s for s in STAGES if s in plan.to_build or s in plan.cached]
    build = ", ".join(f"{s} {plan.to_build[s]}" for s in order if plan.to_build.get(s))
    cached = ", ".join(f"{s} {plan.cached[s]}" for s in order if plan.cached.get(s))
    if not build:
        return f"everything is up to date (cached: {cached})" if cached else "nothing to render yet"
    return f"next render rebuilds {build}" + (f" · reuses {cached}" if cached else "")
