"""The studio's side of takes, own files and the Jianying export: what the takes dialog shows, and what
its keys do to the open project — through the workspace functions `s2v take / import / export` use.

Like `session`, no widgets here: pictures are decoded in a thread and handed over as small PIL images,
and nothing runs while a job has the project (the engine thread owns it until the job ends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from s2v_tui.domain.errors import BadInputError, ProjectLockedError
from s2v_tui.domain.shot import Stage, Take
from s2v_tui.tui.previews import PREVIEW_PIXELS, video_frames
from s2v_tui.tui.session import StudioSession
from s2v_tui.workspace.exporting import Exported, export_jianying
from s2v_tui.workspace.imports import import_file
from s2v_tui.workspace.takes import TakeRow, choose_take, list_takes

THUMBNAIL_PIXELS = PREVIEW_PIXELS // 2


@dataclass(frozen=True)
class TakeView:
    """One take as the takes dialog shows it."""

    row: TakeRow
    picture: Image.Image | None
    """A keyframe, or a video clip's first frame (None for voices and offline camera moves)."""
    detail: str
    """Its measured facts: size, length, camera move."""


def _describe(row: TakeRow, meta: dict[str, object]) -> str:
    if row.stage == Stage.VOICE:
        return f"{float(meta.get('duration', 0)):.1f} s of narration"
    if row.stage == Stage.CLIP and meta.get("kind") == "motion":
        return f"camera move, {float(meta.get('duration', 0)):.1f} s"
    size = f"{meta.get('width')}x{meta.get('height')}" if meta.get("width") else ""
    length = f"{float(meta['duration']):.1f} s" if "duration" in meta else ""
    return " · ".join(part for part in (size, length) if part)


def _picture(path: Path, stage: Stage, meta: dict[str, object]) -> Image.Image | None:
    try:
        if stage == Stage.KEYFRAME:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        elif stage == Stage.CLIP and meta.get("kind") == "video":
            image = video_frames(path, THUMBNAIL_PIXELS)[0]
        else:
            return None
    except Exception:  # noqa: BLE001 - a broken take shows no picture; choosing it says what is wrong
        return None
    image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.LANCZOS)
    return image


async def take_views(session: StudioSession, shot_id: str) -> list[TakeView]:
    """Every take of the shot, with thumbnails (decoded in a thread)."""
    shot = session.project.shot(shot_id)
    rows = list_takes(session.project, shot_id)
    metas = {(t.asset.path): dict(t.asset.meta) for s in shot.stages.values() for t in s.takes}
    folder = session.folder

    def load() -> list[TakeView]:
        return [TakeView(row, _picture(folder.resolve(row.path), row.stage, metas.get(row.path, {})),
                         _describe(row, metas.get(row.path, {}))) for row in rows]

    return await asyncio.to_thread(load)


def _writable(session: StudioSession) -> None:
    if session.read_only:
        raise ProjectLockedError("this project is open read-only", hint="close the other s2v to change it")
    if session.busy:
        raise BadInputError("a job is running", hint="wait for it to finish, or press escape to cancel it")


def choose(session: StudioSession, shot_id: str, stage: Stage, number: int) -> Take:
    """Use take `number` from now on (saved with the next autosave); the next render rebuilds what
    depends on it, through the cache."""
    _writable(session)
    take = choose_take(session.folder, session.project, shot_id, stage.value, number)
    session.mark_dirty()
    return take


async def import_own(session: StudioSession, shot_id: str, stage: Stage, source: Path) -> Take:
    """Bring the user's own file in as the shot's chosen take (checked first; the project is saved)."""
    _writable(session)
    settings = session.settings
    take = await import_file(session.folder, session.project, shot_id, stage, source,
                             sample_rate=settings.render.sample_rate, keep=settings.takes.keep)
    session.dirty = False  # import_file saved the project, pending edits included
    return take


def export_folder(session: StudioSession) -> Path:
    """Where the studio offers to write the draft: beside the film."""
    return session.folder.path / "output" / "jianying"


async def export_draft(session: StudioSession, target: Path,
                       on_progress: Callable[[float, str], None] | None = None) -> Exported:
    """Write the rendered film as a Jianying/CapCut draft folder (refused unless the film is current)."""
    if session.busy:
        raise BadInputError("a job is running", hint="wait for it to finish first")
    if session.dirty and not session.read_only:
        await session.save()
    return await export_jianying(session.folder, session.project, session.settings, target,
                                 on_progress=on_progress)
