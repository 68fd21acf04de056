"""How the engine uses takes: which asset a stage can use without building, and what ends a choice.

`usable` is the one rule the runner (`StageRunner.reuse`) and the plan share, in this order:
1. the user's choice (`Pin`) while it holds — a user's own file always, a chosen take while the shot's
   own content it is made from (`choice_key`) is unchanged; backends, settings and seeds do not
   count, so switching a backend never replaces (or pays for) something the user picked;
2. the current asset, if it was made from exactly these inputs;
3. any kept take made from exactly these inputs — going back to an earlier detail, keyframe or
   narration costs nothing: that is how choosing a keyframe take finds the clip made from it.
Every candidate must be intact on disk (each file with its recorded sha256).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset, Shot, Stage, StageState
from s2v_tui.domain.takes import pin_holds
from s2v_tui.engine import recipes
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.storage.records import asset_files


@dataclass(frozen=True)
class TakeInfo:
    """What a take-keeping stage tells the runner besides its inputs' hash."""

    prompt: str | None
    """Recorded on the take, for people (`Take.prompt`)."""
    key: str
    """`choice_key` of the shot as it is now."""


def choice_key(project: Project, shot: Shot, stage: Stage, keyframe: Asset | None = None) -> str:
    """The digest of the shot's own content a stage is made from: what the user wrote (and, for a clip,
    the keyframe it moves). A chosen take is kept while this stays the same."""
    if stage == Stage.KEYFRAME:
        content: object = {"prompt": recipes.image_prompt(project, shot)}
    elif stage == Stage.VOICE:
        content = {"text": shot.narration, "tone": shot.tone}
    else:
        content = {"prompt": recipes.motion_prompt(project, shot), "camera": shot.camera.value,
                   "keyframe": keyframe.sha256 if keyframe else None}
    return recipes.digest({"stage": stage.value, **content})  # type: ignore[dict-item]


def intact(folder: ProjectFolder, asset: Asset) -> bool:
    return all(sha and folder.asset_ok(rel, sha) for rel, sha in asset_files(asset))


def usable(folder: ProjectFolder, state: StageState, input_hash: str | None, key: str | None = None) -> Asset | None:
    """The asset the stage would use without building anything (see the module docstring), or None."""
    asset = state.asset
    if asset is not None and pin_holds(state, key) and intact(folder, asset):
        return asset
    if input_hash is None:
        return None
    if asset is not None and asset.input_hash == input_hash and intact(folder, asset):
        return asset
    for take in reversed(state.takes):
        if take.asset.input_hash == input_hash and take.asset.path != (asset.path if asset else None) \
                and intact(folder, take.asset):
            return take.asset
    return None


def referenced_files(project: Project) -> set[str]:
    """Every file the project names: each stage's asset and kept takes, the film and its sound track."""
    assets = [project.render.audio, project.render.state.asset]
    for shot in project.shots:
        for state in shot.stages.values():
            assets += [state.asset, *(take.asset for take in state.takes)]
    return {rel for asset in assets if asset is not None for rel, _ in asset_files(asset)}


def drop_asset(folder: ProjectFolder, project: Project, owner: str, stage: str, asset: Asset, *,
               keep_record: bool = False) -> None:
    """Delete a superseded or pruned asset's files that nothing in the project names any more, and its
    record (unless `keep_record`: the same inputs' record now describes its successor). Call it only
    once project.json no longer names the asset."""
    referenced = referenced_files(project)
    if asset.path in referenced:
        return  # still a kept take (or shared): its record stays, so a crash can still adopt it
    for rel, _ in asset_files(asset):
        if rel not in referenced and rel.startswith("assets/"):
            with contextlib.suppress(OSError, BadInputError):
                folder.resolve(rel).unlink()
    if not keep_record:
        folder.records.forget(owner, stage, asset)
