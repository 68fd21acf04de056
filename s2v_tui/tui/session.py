"""The studio's model layer: one open project, its edits, autosave and the engine — no widgets here.

Screens call these methods; widgets only render what they are given and post messages. Keeping the
rules (what an edit invalidates, when to save, what "regenerate" means) out of the widgets makes them
testable without a terminal and keeps the TUI a thin layer over the engine, like `s2v --run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import BadInputError, ProjectLockedError
from s2v_tui.domain.events import Event
from s2v_tui.domain.project import Project, VideoFormat, VoiceSettings, detect_language
from s2v_tui.domain.shot import Shot, Stage, StageStatus
from s2v_tui.domain.takes import regenerate
from s2v_tui.engine import recipes
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine, StoryboardMode
from s2v_tui.engine.plan import Plan, make_plan
from s2v_tui.media.subtitles import units
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.engine_thread import EngineLoop
from s2v_tui.tui.previews import Preview, load_preview


@dataclass(frozen=True)
class FinalInfo:
    """The rendered video, as the render pane shows it."""

    path: Path
    relative: str
    """Path inside the project folder (what the render pane shows: stable, short)."""
    duration: float | None
    size: int


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
        self.engine_loop: EngineLoop | None = None
        """Where runs execute (see `tui.engine_thread`); started by the first run."""
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
        """Stop a running job (waiting for it to clean up), save, close the engine, unlock."""
        if self.cancel_token is not None:
            self.cancel()
            for _ in range(300):  # the engine removes scratch files and saves; give it up to 30 s
                if self.cancel_token is None:
                    break
                await asyncio.sleep(0.1)
        if self.dirty and not self.read_only:
            await self.save()
        await self._close_engine(self.engine)
        if self.engine_loop is not None:
            await asyncio.to_thread(self.engine_loop.close)
            self.engine_loop = None
        self.folder.unlock()

    async def _close_engine(self, engine: Engine) -> None:
        """Close an engine on the loop its backends were used on (HTTP clients are bound to it)."""
        if self.engine_loop is not None:
            await self.engine_loop.call(engine.aclose())
        else:
            await engine.aclose()

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
            if not self.project.shots and text.strip():
                # A blank project guessed its language from the title; the script is a better witness.
                self.project.language = detect_language(text)

    def update_project(self, *, style: str | None = None, format: VideoFormat | None = None,
                       voice: VoiceSettings | None = None) -> None:
        """Change project-wide look and sound settings (each change makes the affected assets stale)."""
        for field, value in (("style", style), ("format", format), ("voice", voice)):
            if value is not None and getattr(self.project, field) != value:
                self.mark_dirty()
                setattr(self.project, field, value)

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
        regenerate(shot, stage)  # a new seed, and the user's pinned choice (if any) no longer holds

    # -- what the UI shows -------------------------------------------------------------------
    def image_prompt(self, shot_id: str) -> str:
        return recipes.keyframe_prompt(self.project, self.project.shot(shot_id), self.backends.keyframe.info)

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

    def note_final_freshness(self, plan: Plan) -> None:
        """Keep the stored render status honest: a film older than its shots is "stale" (the projects
        list reads it), and "done" again when the edits that made it stale are undone."""
        state = self.project.render.state
        if self.read_only or self.busy:
            return
        if plan.final == "stale" and state.status == StageStatus.DONE:
            self.mark_dirty()
            state.status = StageStatus.STALE
        elif plan.final == "fresh" and state.status == StageStatus.STALE:
            self.mark_dirty()
            state.status = StageStatus.DONE

    def asset_path(self, shot_id: str, stage: Stage) -> Path | None:
        asset = self.project.shot(shot_id).stages[stage].asset
        if asset is None:
            return None
        path = self.folder.resolve(asset.path)
        return path if path.is_file() else None

    async def preview(self, shot_id: str) -> Preview:
        """The shot's keyframe and its clip's first/last frames, decoded in a thread."""
        shot = self.project.shot(shot_id)
        keyframe, clip = shot.stages[Stage.KEYFRAME].asset, shot.stages[Stage.CLIP].asset
        fmt = self.project.format.model_copy()
        folder = self.folder

        def load() -> Preview:
            keyframe_path = folder.resolve(keyframe.path) if keyframe else None
            clip_path = folder.resolve(clip.path) if clip else None
            return load_preview(
                shot_id,
                keyframe_path if keyframe_path and keyframe_path.is_file() else None,
                clip_path if clip_path and clip_path.is_file() else None,
                clip.meta.get("kind") if clip else None, fmt)

        return await asyncio.to_thread(load)

    async def final_info(self) -> FinalInfo | None:
        """The rendered video: where it is, how long, how big (None before the first render)."""
        asset = self.project.render.state.asset
        if asset is None:
            return None
        path = self.folder.resolve(asset.path)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except OSError:
            return None
        return FinalInfo(path=path, relative=asset.path, duration=self.project.render.duration, size=size)

    @property
    def busy(self) -> bool:
        """A run (render or storyboard) is in progress."""
        return self.cancel_token is not None

    @property
    def final_path(self) -> Path | None:
        asset = self.project.render.state.asset
        path = self.folder.resolve(asset.path) if asset else None
        return path if path and path.is_file() else None

    # -- running -----------------------------------------------------------------------------
    async def run(self, *, shots: Collection[str] | None = None, storyboard: StoryboardMode = "skip",
                  final: bool = True) -> AsyncIterator[Event]:
        """Run the engine on its own loop (thread) and yield its events here; `cancel()` stops it cleanly.

        Until the run ends the engine owns the project: callers must not edit it meanwhile.
        """
        if self.read_only:
            raise ProjectLockedError("this project is open read-only", hint="close the other s2v to render it")
        if self.dirty:
            await self.save()
        if self.engine_loop is None:
            self.engine_loop = EngineLoop()
        engine, token = self.engine, CancelToken()
        self.cancel_token = token
        try:
            async for event in self.engine_loop.stream(
                    lambda: engine.run(self.project, shots=shots, storyboard=storyboard, final=final, cancel=token)):
                yield event
        finally:
            self.cancel_token = None

    def cancel(self) -> bool:
        """Ask the running job to stop (it finishes cleanly: scratch removed, project saved)."""
        token = self.cancel_token
        if token is None or token.cancelled or self.engine_loop is None:
            return False
        self.engine_loop.call_soon(token.cancel)  # the token's asyncio.Event belongs to the engine loop
        return True

    async def generate_storyboard(self) -> AsyncIterator[Event]:
        """Make shots from the script (regenerating keeps locked shots) without rendering them."""
        mode: StoryboardMode = "regenerate" if self.project.shots else "auto"
        async for event in self.run(shots=(), storyboard=mode, final=False):
            yield event

    async def replace_settings(self, settings: Settings) -> None:
        """Use other settings (e.g. another backend) from the next run on."""
        old = self.engine
        # Building backends may import a cloud SDK (hundreds of ms): keep that off the event loop.
        backends = await asyncio.to_thread(BackendSet.from_settings, settings)
        self.settings = settings
        self.backends = backends
        self.engine = Engine(self.folder, settings, self.backends)
        await self._close_engine(old)
