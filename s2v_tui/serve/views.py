"""What the service answers, built from the story's project on disk and the operation's record.

Links are made for files that exist *and* are fresh for the shot as it is now (the engine's own plan
decides), so a response never carries a link to a missing file or to the picture of an older text.
The plan hashes files; each story keeps one unlocked `ProjectFolder` for reads, whose hash memo makes
repeated reads cheap.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from typing import Any

from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.operation import OperationRecord
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot, Stage, StageStatus
from s2v_tui.engine.plan import Plan, make_plan
from s2v_tui.serve import schemas
from s2v_tui.serve.links import Links
from s2v_tui.serve.operation import Operation
from s2v_tui.serve.service import Service
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.stories_by_id import NotFoundError, list_stories, story_folder

RESULT_TTL = 30.0
"""Seconds a finished operation's body is reused while its project is unchanged (links live far longer)."""
FRESH_AS = {"fresh": "done", "stale": "stale", "missing": "missing", "failed": "failed"}


class Views:
    def __init__(self, settings: Settings, service: Service, links: Links) -> None:
        self.settings = settings
        self.service = service
        self.links = links
        self._folders: dict[tuple[str, str], ProjectFolder] = {}
        self._results: dict[str, tuple[tuple[object, ...], float, dict[str, Any]]] = {}

    # -- reading a story -----------------------------------------------------------------------
    def _folder(self, user_id: str, story_id: str) -> ProjectFolder:
        key = (user_id, story_id)
        if key not in self._folders:
            self._folders[key] = story_folder(self.settings, user_id, story_id)
        return self._folders[key]

    def _read(self, user_id: str, story_id: str) -> tuple[ProjectFolder, Project, Plan]:
        folder = self._folder(user_id, story_id)
        if not folder.exists():
            raise NotFoundError(f"story {story_id!r} of user {user_id!r} not found",
                                hint="create it first with POST /api/v1/storyboard/create")
        project = folder.load()
        return folder, project, make_plan(project, folder, self.settings, self.service.backends)

    async def read(self, user_id: str, story_id: str) -> tuple[ProjectFolder, Project, Plan]:
        return await asyncio.to_thread(self._read, user_id, story_id)

    async def _link(self, folder: ProjectFolder, user_id: str, story_id: str, owner: str, asset: Any) -> str:
        return await self.links.url(folder, user_id, story_id, owner, asset.path, asset.sha256)

    async def shot(self, folder: ProjectFolder, project: Project, plan: Plan, shot: Shot, user_id: str,
                   story_id: str) -> schemas.Shot:
        fresh = plan.shots.get(shot.id, {})
        keyframe, segment = shot.stages[Stage.KEYFRAME].asset, shot.stages[Stage.SEGMENT].asset
        image_url = video_url = None
        if keyframe is not None and fresh.get("keyframe") == "fresh":
            image_url = await self._link(folder, user_id, story_id, shot.id, keyframe)
        if segment is not None and fresh.get("segment") == "fresh":
            video_url = await self._link(folder, user_id, story_id, shot.id, segment)
        return schemas.Shot(id=shot.id, sequence=shot.sequence, subject=shot.subject, detail=shot.detail,
                            camera=shot.camera.value, narration=shot.narration, tone=shot.tone,
                            image_url=image_url, video_url=video_url)

    async def film_url(self, folder: ProjectFolder, project: Project, plan: Plan, user_id: str, story_id: str,
                       *, partial: bool = False) -> str | None:
        """The film's link when it is complete and current (or, for a partial render that joined the
        shots that succeeded, that film)."""
        asset = project.render.state.asset
        if asset is None or not (plan.final == "fresh" or partial and folder.asset_ok(asset.path, asset.sha256)):
            return None
        return await self._link(folder, user_id, story_id, "film", asset)

    # -- operations ----------------------------------------------------------------------------
    @staticmethod
    def status(record: OperationRecord) -> schemas.OperationStatus:
        return schemas.OperationStatus(operation_id=record.operation_id, status=record.status, detail=record.detail)

    def pending(self, op: Operation) -> dict[str, Any]:
        """The body of a 202: the original shape, status Running, nothing built yet."""
        empty: dict[str, Any] = {"storyboard": {"shots": []}, "regenerate": {"shot": None},
                                 "render": {"video_url": None}}[op.record.kind]
        return {"operation": self.status(op.record).model_dump(), **empty}

    async def result(self, op: Operation) -> dict[str, Any]:
        """The POST's body for this operation as it stands: made anew when the project changed (or the
        cached links are getting old), else the body made last time — polling a finished operation
        costs no file hashing."""
        record = op.record
        if record.active:
            return self.pending(op)
        stamp = self._stamp(record)
        cached = self._results.get(record.operation_id)
        if cached is not None and cached[0] == stamp and time.monotonic() - cached[1] < RESULT_TTL:
            return copy.deepcopy(cached[2])
        body = await self._result(op)
        self._results[record.operation_id] = (stamp, time.monotonic(), body)
        return copy.deepcopy(body)

    def _stamp(self, record: OperationRecord) -> tuple[object, ...]:
        try:
            info = os.stat(self._folder(record.user_id, record.story_id).json_path)
        except (OSError, BadInputError):
            return (record.state, record.updated_at)
        return (record.state, record.updated_at, info.st_mtime_ns, info.st_size)

    async def _result(self, op: Operation) -> dict[str, Any]:
        record = op.record
        body = self.pending(op)
        try:
            folder, project, plan = await self.read(record.user_id, record.story_id)
        except BadInputError:
            return body  # the story is gone or unreadable: the record still says what happened
        user, story = record.user_id, record.story_id
        if record.kind == "storyboard":
            body["shots"] = [(await self.shot(folder, project, plan, s, user, story)).model_dump()
                             for s in project.shots]
        elif record.kind == "regenerate":
            shot = next((s for s in project.shots if s.id == record.shot_id), None)
            body["shot"] = (await self.shot(folder, project, plan, shot, user, story)).model_dump() if shot else None
        else:
            body["video_url"] = await self.film_url(folder, project, plan, user, story,
                                                    partial=record.state == "partial" and bool(record.final_path))
        return body

    async def operation(self, op: Operation) -> schemas.OperationView:
        record = op.record
        return schemas.OperationView(
            operation_id=record.operation_id, kind=record.kind, user_id=record.user_id, story_id=record.story_id,
            status=record.status, state=record.state, detail=record.detail, created_at=record.created_at,
            updated_at=record.updated_at, progress=op.progress_view(), failures=record.failures, error=record.error,
            result=None if record.active else await self.result(op),
            links={"self": f"/api/v1/operations/{record.operation_id}",
                   "events": f"/api/v1/operations/{record.operation_id}/events",
                   "cancel": f"/api/v1/operations/{record.operation_id}/cancel"})

    # -- stories -------------------------------------------------------------------------------
    def _operations_of(self, user_id: str, story_id: str) -> list[OperationRecord]:
        records = [op.record for op in list(self.service.operations.values()) if op.story_key == (user_id, story_id)]
        return sorted(records, key=lambda r: r.created_at)

    async def summary(self, user_id: str, story_id: str) -> schemas.StorySummary:
        folder, project, plan = await self.read(user_id, story_id)
        return await self._summary(folder, project, plan, user_id, story_id)

    async def _summary(self, folder: ProjectFolder, project: Project, plan: Plan, user_id: str,
                       story_id: str) -> schemas.StorySummary:
        records = self._operations_of(user_id, story_id)
        return schemas.StorySummary(
            story_id=story_id, user_id=user_id, display_name=project.title, style=project.style,
            shot_count=len(project.shots), status=records[-1].status if records else None,
            video_url=await self.film_url(folder, project, plan, user_id, story_id), updated_at=project.updated_at)

    async def stories(self, user_id: str) -> schemas.StoryList:
        found = await asyncio.to_thread(lambda: [story for story, _ in list_stories(self.settings, user_id)])
        summaries = []
        for story_id in found:
            try:
                summaries.append(await self.summary(user_id, story_id))
            except BadInputError:
                continue  # a corrupt project is not listed as a story (the studio shows why)
        return schemas.StoryList(user_id=user_id, stories=summaries)

    async def story(self, user_id: str, story_id: str) -> schemas.StoryView:
        folder, project, plan = await self.read(user_id, story_id)
        summary = await self._summary(folder, project, plan, user_id, story_id)
        running = self.service.busy.get((user_id, story_id)) is not None
        shots = []
        for shot in project.shots:
            base = await self.shot(folder, project, plan, shot, user_id, story_id)
            stages = {}
            for stage in Stage:
                state = shot.stages[stage]
                status = FRESH_AS[plan.shots[shot.id][stage.value]]
                if running and state.status == StageStatus.RUNNING:
                    status = "running"
                stages[stage.value] = schemas.StageView(status=status, error=state.error if status == "failed" else None)
            shots.append(schemas.StoryShot(**base.model_dump(), stages=stages))
        return schemas.StoryView(**summary.model_dump(), script_content=project.script, shots=shots,
                                 operations=[r.operation_id for r in self._operations_of(user_id, story_id)])
