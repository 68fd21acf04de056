"""Edits a front end makes to a story's shots before a run: replace some fields of one shot (the
original service's "regenerate" request), or make the shot list the one a client sends ("render" with
`shots`). Both are idempotent — applying the same edit twice changes nothing more — so an operation
interrupted after its edit was saved can simply apply it again when it resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from s2v_tui.domain.camera import parse_camera
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot, Stage
from s2v_tui.domain.takes import regenerate
from s2v_tui.engine import recipes

SHOT_FIELDS = ("subject", "detail", "camera", "narration", "tone")


@dataclass(frozen=True)
class ShotFields:
    """New values for a shot; None leaves a field as it is."""

    subject: str | None = None
    detail: str | None = None
    camera: str | None = None
    narration: str | None = None
    tone: str | None = None

    def given(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SHOT_FIELDS if getattr(self, name) is not None}


def _invalid(exc: ValidationError, shot_id: str) -> BadInputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return BadInputError(f"{shot_id}: {where}: {first['msg']}", hint="fix the value and send the request again")


def check_fields(fields: ShotFields, shot_id: str) -> None:
    """Raise BadInputError for values a shot cannot take (an unknown camera move, an overlong text)."""
    try:
        Shot(id=shot_id, sequence=1, **fields.given())
    except ValidationError as exc:
        raise _invalid(exc, shot_id) from None


def apply_fields(shot: Shot, fields: ShotFields) -> None:
    for name, value in fields.given().items():
        value = parse_camera(value) if name == "camera" else value
        if getattr(shot, name) != value:
            setattr(shot, name, value)


def regenerate_keyframe(project: Project, shot_id: str, fields: ShotFields, *, style: str | None,
                        variant: int) -> None:
    """Give the shot its new fields and ask for keyframe `variant` (a new picture even when no text
    changed, the one it replaces kept as a take). A `style` other than the story's applies to this
    shot's picture only."""
    shot = project.shot(shot_id)
    apply_fields(shot, fields)
    prompt = None
    if style and style.strip() and style.strip() != project.style:
        prompt = recipes.image_prompt(project.model_copy(update={"style": style.strip()}), shot)
    shot.image_prompt = prompt
    if shot.variants.get(Stage.KEYFRAME, 0) < variant:  # asked once: a resumed operation asks no second time
        regenerate(shot, Stage.KEYFRAME)  # a new seed, and no pinned take or file in its way


def next_keyframe_variant(project: Project, shot_id: str) -> int:
    return project.shot(shot_id).variants.get(Stage.KEYFRAME, 0) + 1


def replace_shots(project: Project, shots: list[tuple[str, ShotFields]]) -> None:
    """Make the story's shots `shots`, in that order: known ids keep their work and take the given
    fields, new ids become new shots (they must bring a narration); shots left out are dropped."""
    if not shots:
        raise BadInputError("shots is empty", hint="send the story's shots, or leave shots out to render as it is")
    ids = [shot_id for shot_id, _ in shots]
    if len(set(ids)) != len(ids):
        raise BadInputError("shots has duplicate ids", hint="each shot id may appear once")
    existing = {shot.id: shot for shot in project.shots}
    merged: list[Shot] = []
    for index, (shot_id, fields) in enumerate(shots, start=1):
        check_fields(fields, shot_id)
        shot = existing.get(shot_id)
        if shot is None:
            try:
                shot = Shot(id=shot_id, sequence=index, **fields.given())
            except ValidationError as exc:
                raise _invalid(exc, shot_id) from None
        else:
            apply_fields(shot, fields)
        merged.append(shot)
    project.shots = merged
    project.renumber()
