"""The studio's model layer: one open project, its edits, autosave and the engine — no widgets here.

Screens call these methods; widgets only render what they are given and post messages. Keeping the
rules (what an edit invalidates, when to save, what "regenerate" means) out of the widgets makes them
testable without a terminal and keeps the TUI a thin layer over the engine, like `s2v --run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import BadInputError, ProjectLockedError
from s2v_tui.domain.events import Event
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot, Stage
from s2v_tui.engine import recipes
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine, StoryboardMode
from s2v_tui.engine.plan import Plan, make_plan
from s2v_tui.media.subtitles import units
from s2v_tui.storage.project_store import ProjectFolder

EDITABLE_FIELDS = ("subject", "detail", "narration", "camera", "tone", "image_prompt", "duration")
NARRATION_SECONDS_LIMIT = 12.0


class StudioSession:
    """An open project. Create with `StudioSession.open(path, settings)`; close with `aclose()`."""

    def __init__(self, folder: ProjectFolder, project: Project, settings: Settings, *, read_only: bool = False,
                 backends: BackendSet | None = None) -> None:
        self.folder = folder
        self.project = project
        self.settings = settings
        self.read_only = read_only
        self.folder.read_only = read_only
        self.backends = backends or BackendSet.from_settings(settings)
        self.engine = Engine(folder, settings, self.backends)
        self.dirty = False
        self.cancel_token: CancelToken | None = None

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, settings: Settings, *, read_only: bool = False,
             backends: BackendSet | None = None) -> StudioSession:
        """Open a project folder. Raises ProjectLockedError (unless read_only) or ProjectCorruptError."""
        folder = ProjectFolder(path)
        if not read_only:
            folder.lock()
        try:
            project = folder.load()
        except Exception:
            folder.unlock()
            raise
        return cls(folder, project, settings, read_only=read_only, backends=backends)

    @classmethod
    def create(cls, folder: ProjectFolder, project: Project, settings: Settings) -> StudioSession:
        folder.lock()
        folder.save(project)
        return cls(folder, project, settings)

    async def aclose(self) -> None:
        if self.dirty and not self.read_only:
            await self.save()
        await self.engine.aclose()
        self.folder.unlock()

    # -- saving ------------------------------------------------------------------------------
    def mark_dirty(self) -> None:
        if self.read_only:
            raise ProjectLockedError("this project is open read-only", hint="close the other s2v to edit it")
        self.dirty = True

    async def save(self) -> None:
        """Write project.json now (serialised here, written in a thread)."""
        if self.read_only:
            return
        data, version = self.folder.serialise(self.project)
        self.dirty = False
        await asyncio.to_thread(self.folder.write, data, version)

    # -- edits -------------------------------------------------------------------------------
    def set_script(self, text: str) -> None:
        if text != self.project.script:
            self.mark_dirty()
            self.project.script = text

    def update_shot(self, shot_id: str, **changes: Any) -> Shot:
        """Change editable fields of a shot (validated); unknown fields are refused."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise BadInputError(f"cannot edit {', '.join(sorted(unknown))}")
        shot = self.project.shot(shot_id)
        for field, value in changes.items():
            if getattr(shot, field) != value:
                self.mark_dirty()
                setattr(shot, field, value)  # validate_assignment checks camera, duration, …
        return shot

    def toggle_lock(self, shot_id: str) -> bool:
        shot = self.project.shot(shot_id)
        self.mark_dirty()
        shot.locked = not shot.locked
        return shot.locked

    def insert_shot(self, after: str | None = None) -> Shot:
        self.mark_dirty()
        shot = Shot(id=self.project.next_shot_id(), sequence=1, subject="新镜头" if self.project.language == "zh"
                    else "New shot", camera=CameraMove.PUSH_IN)
        index = len(self.project.shots)
        if after is not None:
            index = [s.id for s in self.project.shots].index(after) + 1
        self.project.shots.insert(index, shot)
        self.project.renumber()
        return shot

    def delete_shot(self, shot_id: str) -> None:
        self.mark_dirty()
        self.project.shots = [s for s in self.project.shots if s.id != shot_id]
        self.project.renumber()

    def move_shot(self, shot_id: str, offset: int) -> int:
        """Move a shot up (-1) or down (+1); returns its new index."""
        ids = [s.id for s in self.project.shots]
        index = ids.index(shot_id)
        target = max(0, min(len(ids) - 1, index + offset))
        if target != index:
            self.mark_dirty()
            shot = self.project.shots.pop(index)
            self.project.shots.insert(target, shot)
            self.project.renumber()
        return target

    def request_regenerate(self, shot_id: str, stage: Stage, new_detail: str | None = None) -> None:
        """Make the next build of `stage` produce something new (a new seed), optionally with a new detail."""
        shot = self.project.shot(shot_id)
        self.mark_dirty()
        if new_detail is not None and new_detail.strip():
            shot.detail = new_detail.strip()
        shot.variants = {**shot.variants, stage: shot.variants.get(stage, 0) + 1}

    # -- what the UI shows -------------------------------------------------------------------
    def image_prompt(self, shot_id: str) -> str:
        return recipes.image_prompt(self.project, self.project.shot(shot_id))

    def narration_warning(self, text: str) -> str | None:
        """A reading-speed warning for a narration, or None when it fits one shot."""
        per_second = 9 if self.project.language == "zh" else 15
        seconds = units(text) / per_second
        if seconds > NARRATION_SECONDS_LIMIT:
            return f"about {seconds:.0f}s of speech — more than {NARRATION_SECONDS_LIMIT:.0f}s; consider splitting the shot"
        return None

    async def plan(self) -> Plan:
        """Fresh/stale/missing per shot and stage (file hashing happens in a thread)."""
        return await asyncio.to_thread(make_plan, self.project, self.folder, self.settings, self.backends)

    def asset_path(self, shot_id: str, stage: Stage) -> Path | None:
        asset = self.project.shot(shot_id).stages[stage].asset
        if asset is None:
            return None
        path = self.folder.resolve(asset.path)
        return path if path.is_file() else None

    @property
    def final_path(self) -> Path | None:
        asset = self.project.render.state.asset
        path = self.folder.resolve(asset.path) if asset else None
        return path if path and path.is_file() else None

    # -- running -----------------------------------------------------------------------------
    async def run(self, *, shots: Collection[str] | None = None, storyboard: StoryboardMode = "skip",
                  final: bool = True) -> AsyncIterator[Event]:
        """Run the engine; `cancel()` stops it cleanly."""
        if self.read_only:
            raise ProjectLockedError("this project is open read-only", hint="close the other s2v to render it")
        if self.dirty:
            await self.save()
        self.cancel_token = CancelToken()
        try:
            async for event in self.engine.run(self.project, shots=shots, storyboard=storyboard, final=final,
                                               cancel=self.cancel_token):
                yield event
        finally:
            self.cancel_token = None

    def cancel(self) -> bool:
        if self.cancel_token is None or self.cancel_token.cancelled:
            return False
        self.cancel_token.cancel()
        return True

    async def generate_storyboard(self) -> AsyncIterator[Event]:
        """Make shots from the script (regenerating keeps locked shots) without rendering them."""
        mode: StoryboardMode = "regenerate" if self.project.shots else "auto"
        async for event in self.run(shots=(), storyboard=mode, final=False):
            yield event

    async def replace_settings(self, settings: Settings) -> None:
        """Use other settings (e.g. another backend) from the next run on."""
        old = self.engine
        self.settings = settings
        self.backends = BackendSet.from_settings(settings)
        self.engine = Engine(self.folder, settings, self.backends)
        await old.aclose()
