"""Operations live in the story's folder and outlast the server: a stopped or killed server's running
operations come back "interrupted", and the same request POSTed again resumes them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from s2v_tui.domain.errors import ProjectLockedError
from s2v_tui.domain.operation import OperationRecord
from s2v_tui.serve.app import create_app
from s2v_tui.storage.operations import OperationStore
from s2v_tui.storage.project_store import ProjectFolder
from tests.serve.conftest import README_PATHS, create_body, serve_settings, start

RENDER = {"operation_id": "op-r", "story_id": "story-001", "user_id": "u-001"}


def test_operation_records_round_trip_and_unreadable_ones_are_skipped(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "story")
    store = OperationStore(folder)
    record = OperationRecord(operation_id="op-1", kind="render", user_id="u", story_id="s", request_hash="h")
    store.save(record)
    (folder.path / "operations" / "broken.json").write_text("{not json")
    os.symlink(folder.path / "operations" / "op-1.json", folder.path / "operations" / "op-2.json")
    loaded = store.load_all()
    assert [r.operation_id for r in loaded] == ["op-1"] and loaded[0].state == "queued"
    with pytest.raises(ValueError):
        OperationRecord(operation_id="../x", kind="render", user_id="u", story_id="s", request_hash="h")


async def test_a_stopped_server_leaves_its_operation_interrupted_and_the_same_request_resumes_it() -> None:
    settings = serve_settings(fake={"latency": 0.3})
    async for served in start(settings):
        assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
        assert (await served.client.post(README_PATHS["render"], json=RENDER,
                                         headers={"Prefer": "respond-async"})).status_code == 202
        op = served.service.get("op-r")
        for _ in range(400):
            if sum(e.type == "stage_finished" and not e.cached for _, e in op.events) >= 2:
                break
            await asyncio.sleep(0.02)
        done_before = {(e.shot_id, e.stage) for _, e in op.events if e.type == "stage_finished"}
    record = OperationStore(ProjectFolder(settings.projects_dir / "users/u-001/stories/story-001")).load_all()
    assert {r.operation_id: r.state for r in record}["op-r"] == "interrupted"
    async for served in start(settings):
        view = (await served.client.get("/api/v1/operations/op-r")).json()
        assert view["state"] == "interrupted" and view["status"] == "Failed" and "POST the same" in view["detail"]
        again = await served.client.post(README_PATHS["render"], json=RENDER)
        assert again.status_code == 200 and again.json()["operation"]["status"] == "Success"
        events = [e for _, e in served.service.get("op-r").events]
        started = {(e.shot_id, e.stage) for e in events if e.type == "stage_started"}
        cached = {(e.shot_id, e.stage) for e in events if e.type == "stage_finished" and e.cached}
        assert done_before and done_before <= cached and not done_before & started


async def test_a_running_record_left_by_a_killed_server_is_shown_interrupted() -> None:
    settings = serve_settings()
    async for served in start(settings):
        assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
    store = OperationStore(ProjectFolder(settings.projects_dir / "users/u-001/stories/story-001"))
    record = store.load_all()[0]
    record.state = "running"  # what a SIGKILL mid-run leaves on disk
    store.save(record)
    async for served in start(settings):
        view = (await served.client.get("/api/v1/operations/op-001")).json()
        assert view["state"] == "interrupted"
        story = (await served.client.get("/api/v1/stories/story-001", params={"user_id": "u-001"})).json()
        assert story["operations"] == ["op-001"] and story["status"] == "Failed"


async def test_one_projects_folder_has_one_server() -> None:
    settings = serve_settings()
    async for _ in start(settings):
        second = create_app(settings)
        with pytest.raises(ProjectLockedError, match="another s2v serve"):
            async with second.router.lifespan_context(second):
                pass
