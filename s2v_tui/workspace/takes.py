"""Listing and choosing a shot's takes, for every front end (`s2v take`, the studio).

Choosing only changes which take the stage uses (and pins it, `domain.takes`); the next run rebuilds
what depends on it — the shot's segment and the film, and a clip only if none was made from the
chosen keyframe before — through the cache: no stage that made the take runs again, nothing is paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import USER_BACKEND, Shot, Stage, Take
from s2v_tui.domain.takes import TAKE_STAGES, choose, take_stage
from s2v_tui.engine.takes import choice_key, intact
from s2v_tui.storage.project_store import ProjectFolder


@dataclass(frozen=True)
class TakeRow:
    """One take as front ends list it."""

    shot_id: str
    stage: Stage
    number: int
    chosen: bool
    pinned: bool
    """Chosen by the user (or the user's own file): kept instead of rebuilt."""
    backend: str
    model: str | None
    created_at: datetime
    prompt: str | None
    path: str

    @property
    def by_user(self) -> bool:
        return self.backend == USER_BACKEND


def find_shot(project: Project, shot_id: str) -> Shot:
    try:
        return project.shot(shot_id)
    except KeyError:
        known = ", ".join(shot.id for shot in project.shots) or "none yet (render the story first)"
        raise BadInputError(f"the project has no shot {shot_id!r}", hint=f"its shots: {known}") from None


def list_takes(project: Project, shot_id: str | None = None, stage: str | None = None) -> list[TakeRow]:
    """Every take of the project, or of one shot, or of one shot's stage, in shot and take order."""
    shots = [find_shot(project, shot_id)] if shot_id is not None else project.shots
    stages = [take_stage(stage)] if stage is not None else list(TAKE_STAGES)
    rows: list[TakeRow] = []
    for shot in shots:
        for each in stages:
            state = shot.stages[each]
            chosen = state.asset.path if state.asset else None
            rows += [TakeRow(shot.id, each, t.number, t.asset.path == chosen, t.asset.path == chosen and state.pin
                             is not None, t.asset.backend, t.asset.model, t.asset.created_at, t.prompt, t.asset.path)
                     for t in sorted(state.takes, key=lambda t: t.number)]
    return rows


def choose_take(folder: ProjectFolder, project: Project, shot_id: str, stage: str, number: int) -> Take:
    """Use take `number` of the shot's stage from now on (the caller saves the project).

    Raises:
        BadInputError: unknown shot, a stage without takes, no such take, or its file is gone.
    """
    shot = find_shot(project, shot_id)
    which = take_stage(stage)
    take = next((t for t in shot.stages[which].takes if t.number == number), None)
    if take is not None and not intact(folder, take.asset):
        raise BadInputError(f"take {number} of {shot.id}'s {which.value} is missing or changed on disk ({take.asset.path})",
                            hint="choose another take, or regenerate the stage")
    keyframe = shot.stages[Stage.KEYFRAME].asset if which == Stage.CLIP else None
    return choose(shot, which, number, key=choice_key(project, shot, which, keyframe))
