"""Counting a run's events into what the render pane shows: per-stage done/cached/rebuilt/failed, and an
overall fraction and ETA weighted by what each stage costs.

Counting items alone lied: with keyframes, voices and clips done and one segment in ten encoded, 31 of
41 items were finished ("80% · ETA 2s") while most of the time was still ahead — a segment encode costs
many times a keyframe offline. So each stage's items are weighted: by the seconds this run has measured
for that stage once one item is built, before that by `STAGE_COST` scaled to what was measured elsewhere.
Cached items cost nothing. Pure bookkeeping (no Textual), tested without a terminal.
"""

from __future__ import annotations

import statistics
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
STAGE_COST = {"storyboard": 2.0, "keyframe": 1.0, "voice": 1.0, "clip": 1.0, "segment": 4.0, "final": 8.0}
"""Relative cost of one item per stage before any is measured. Offline, 10 shots at 160x288 (measured):
keyframe 0.3 s, voice 0.7 s, clip 0.3 s, segment 1.1 s, final 1.2 s — but the final runs alone while
the others run two at a time, so its share of the wall time is about twice its seconds."""
ETA_AFTER = 0.05
"""No ETA before this fraction of the work is done (the first seconds say little)."""


@dataclass
class StageTally:
    total: int = 0
    built: int = 0
    cached: int = 0
    failed: int = 0
    skipped: int = 0
    running: dict[str | None, float] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    """How long each built item took (the measured cost of this stage)."""

    @property
    def finished(self) -> int:
        return self.built + self.cached + self.failed + self.skipped

    @property
    def progress(self) -> float:
        """Finished items plus the fractions of running ones (never above `total`)."""
        return min(float(self.total), self.finished + sum(self.running.values()))

    @property
    def worked(self) -> float:
        """Items that cost work: finished ones that were not cached, plus the running fractions."""
        return self.built + self.failed + self.skipped + sum(self.running.values())

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
        self.started = False
        """`RunStarted` arrived: the plan's counts are known."""
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
            self.started = True
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
                    tally.seconds.append(event.seconds)
            elif isinstance(event, StageFailed):
                tally.failed += 1
                self.failure_reasons[(stage, event.error.message)] += 1
            else:
                tally.skipped += 1
            tally.total = max(tally.total, tally.finished)

    # -- how far along, weighted -------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(t.total for t in self.stages.values())

    @property
    def progress(self) -> float:
        return sum(t.progress for t in self.stages.values())

    def _costs(self) -> dict[str, float]:
        """Seconds one item of each stage costs: measured where possible, else the prior scaled alike."""
        measured = {s: statistics.fmean(t.seconds) for s, t in self.stages.items() if t.seconds}
        ratios = [seconds / STAGE_COST[s] for s, seconds in measured.items() if seconds > 0]
        scale = statistics.median(ratios) if ratios else 1.0
        return {s: measured.get(s, STAGE_COST[s] * scale) for s in STAGES}

    def _to_work(self, stage: str) -> int:
        """How many items of `stage` this job will build (not take from the cache)."""
        tally = self.stages[stage]
        if not tally.total:
            return 0
        # A whole-project run knows from its plan; a one-shot job learns as items turn out cached.
        planned = self.planned_build.get(stage, 0) if self.whole_project and self.started else None
        expected = planned if planned is not None else tally.total - tally.cached
        return max(expected, tally.built + tally.failed + tally.skipped + len(tally.running))

    @property
    def fraction(self) -> float:
        """How much of the job's work is done, 0–1, each item weighted by its stage's cost."""
        costs = self._costs()
        work = {s: self._to_work(s) for s in STAGES}
        total = sum(costs[s] * work[s] for s in STAGES)
        if total <= 0:  # everything cached (or nothing known yet): count items
            return self.progress / self.total if self.total else float(self.status != "running")
        done = sum(costs[s] * min(self.stages[s].worked, work[s]) for s in STAGES)
        return max(0.0, min(1.0, done / total))

    @property
    def built_fraction(self) -> float:
        """For a plan's tally: how much of the project is up to date, weighted like `fraction`."""
        costs = self._costs()
        total = sum(costs[s] * t.total for s, t in self.stages.items())
        return sum(costs[s] * t.cached for s, t in self.stages.items()) / total if total else 0.0

    def eta(self, elapsed: float) -> float | None:
        """Seconds left at the pace so far (None until `ETA_AFTER` of the work is done)."""
        fraction = self.fraction
        if fraction < ETA_AFTER or fraction >= 1.0:
            return None
        return elapsed * (1 - fraction) / fraction


def plan_tally(plan: Plan) -> RunTally:
    """The project's state as the bars show it when nothing runs: per stage, how many are up to date."""
    tally = RunTally()
    for stage in SHOT_STAGES:
        row = [states[stage] for states in plan.shots.values()]
        counts = tally.stages[stage]
        counts.total, counts.cached, counts.failed = len(row), row.count("fresh"), row.count("failed")
    if plan.shots:
        final = tally.stages["final"]
        final.total, final.cached = 1, int(plan.final == "fresh")
    return tally


def idle_label(counts: StageTally) -> str:
    """"10/10 up to date", "7/10 · 3 to build", "8/10 · 2 failed" — a stage of the project at rest."""
    if not counts.total:
        return ""
    parts = [f"{counts.cached}/{counts.total}" + (" up to date" if counts.cached == counts.total else "")]
    if counts.failed:
        parts.append(f"{counts.failed} failed")
    if counts.total - counts.cached - counts.failed:
        parts.append(f"{counts.total - counts.cached - counts.failed} to build")
    return " · ".join(parts)


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
