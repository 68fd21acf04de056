"""What each shot-list row says, from the project, the last plan and the live engine events. No Textual.

Status precedence: a stage the engine is running right now shows its percentage; otherwise the plan
decides (fresh → done, an asset whose inputs changed → stale, never built → pending, failed → failed);
before the first plan arrives, the stored stage status is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s2v_tui.config import RenderSettings
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot, Stage, StageStatus
from s2v_tui.engine import recipes
from s2v_tui.engine.plan import Plan


@dataclass(frozen=True)
class ShotRow:
    """What one shot-list row shows."""

    shot_id: str
    sequence: int
    subject: str
    camera: str
    duration: str
    locked: bool
    statuses: dict[str, str] = field(default_factory=dict)
    """Per stage: "pending", "done", "failed", "stale", "skipped" or "running:<percent>"."""


FRESHNESS_STATUS = {"fresh": "done", "stale": "stale", "missing": "pending", "failed": "failed"}


def shot_length(shot: Shot, render: RenderSettings) -> str:
    """The length shown: the user's duration, else what the narration makes it (once voiced), else "auto"."""
    voice = shot.stages[Stage.VOICE].asset
    if voice is not None and "duration" in voice.meta:
        return f"{recipes.shot_seconds(shot, float(voice.meta['duration']), render):.1f}"
    if shot.duration is not None:
        return f"{shot.duration:.1f}"
    return "auto"


def stage_status(shot: Shot, stage: Stage, plan: Plan | None, live: dict[tuple[str, str], str]) -> str:
    running = live.get((shot.id, stage.value))
    if running is not None:
        return running
    if plan is not None and shot.id in plan.shots:
        return FRESHNESS_STATUS[plan.shots[shot.id][stage.value]]
    state = shot.stages[stage]
    if state.status == StageStatus.DONE:
        return "done"
    if state.status == StageStatus.FAILED:
        return "failed"
    return "pending"


def shot_rows(project: Project, render: RenderSettings, plan: Plan | None,
              live: dict[tuple[str, str], str]) -> list[ShotRow]:
    return [ShotRow(shot_id=shot.id, sequence=shot.sequence, subject=shot.subject or shot.narration[:20],
                    camera=shot.camera.label(project.language), duration=shot_length(shot, render), locked=shot.locked,
                    statuses={stage.value: stage_status(shot, stage, plan, live) for stage in Stage})
            for shot in project.shots]
