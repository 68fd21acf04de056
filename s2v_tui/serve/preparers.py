"""How each request prepares its story before it is queued (in a worker thread, under the story's
lock): every edit goes through `s2v_tui.workspace`, the layer the studio and `s2v --run` use too."""

from __future__ import annotations

from s2v_tui.config import Settings
from s2v_tui.domain.operation import OperationRecord
from s2v_tui.serve.schemas import CreateStoryboardRequest, RegenerateShotRequest, RenderVideoRequest
from s2v_tui.serve.service import Prepared, Preparer
from s2v_tui.workspace.edits import (
    ShotFields,
    check_fields,
    next_keyframe_variant,
    regenerate_keyframe,
    replace_shots,
)
from s2v_tui.workspace.stories_by_id import NotFoundError, create_or_update_story, open_story


def _given(value: str | None) -> str | None:
    """An empty field leaves the shot's value as it is (clients send "" for what they did not set)."""
    return value if value else None


def create(settings: Settings, body: CreateStoryboardRequest) -> Preparer:
    def prepare(record: OperationRecord) -> Prepared:
        folder, project = create_or_update_story(settings, body.user_id, body.story_id, text=body.script_content,
                                                 title=body.display_name, style=body.style)
        return Prepared(folder, project, {"keyframes_only": True})

    return prepare


def regenerate(settings: Settings, body: RegenerateShotRequest) -> Preparer:
    fields = ShotFields(subject=_given(body.subject), detail=body.new_detail(), camera=_given(body.camera),
                        narration=_given(body.narration), tone=_given(body.tone))

    def prepare(record: OperationRecord) -> Prepared:
        folder, project = open_story(settings, body.user_id, body.story_id)
        try:
            if body.shot_id not in {shot.id for shot in project.shots}:
                raise NotFoundError(f"shot {body.shot_id!r} not found in story {body.story_id!r}",
                                    hint=f"the story's shots: {', '.join(s.id for s in project.shots) or 'none'}")
            check_fields(fields, body.shot_id)
            if record.keyframe_variant is None:
                record.keyframe_variant = next_keyframe_variant(project, body.shot_id)
            regenerate_keyframe(project, body.shot_id, fields, style=_given(body.style),
                                variant=record.keyframe_variant)
            folder.save(project)
        except BaseException:
            folder.unlock()
            raise
        return Prepared(folder, project, {"shots": [body.shot_id], "keyframes_only": True})

    return prepare


def render(settings: Settings, body: RenderVideoRequest) -> Preparer:
    edits = None if body.shots is None else [
        (shot.id, ShotFields(subject=_given(shot.subject), detail=_given(shot.detail), camera=_given(shot.camera),
                             narration=_given(shot.narration), tone=_given(shot.tone))) for shot in body.shots]

    def prepare(record: OperationRecord) -> Prepared:
        folder, project = open_story(settings, body.user_id, body.story_id)
        try:
            if edits is not None:
                replace_shots(project, edits)
                folder.save(project)
        except BaseException:
            folder.unlock()
            raise
        return Prepared(folder, project, {})

    return prepare
