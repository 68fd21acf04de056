"""Operations: async with Location, polling, SSE, cancel and resume, idempotency, busy stories, a
bounded queue, and many stories at once sharing the per-provider lanes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from s2v_tui.backends.fake import FakeKeyframe
from s2v_tui.backends.registry import BackendSet
from s2v_tui.engine.lanes import lane_widths
from tests.serve.conftest import README_PATHS, Served, create_body, serve_settings, start

ASYNC = {"Prefer": "respond-async"}
SLOW = {"fake": {"latency": 0.4}}


async def wait_done(served: Served, operation_id: str) -> dict[str, Any]:
    for _ in range(600):
        view = (await served.client.get(f"/api/v1/operations/{operation_id}")).json()
        if view["status"] != "Running":
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{operation_id} never finished")


async def sse_events(client: httpx.AsyncClient, operation_id: str, **headers: str) -> list[tuple[str, str, Any]]:
    """(id, event, data) of every Server-Sent Event until the stream ends."""
    found, current = [], {"id": "", "event": "", "data": ""}
    async with client.stream("GET", f"/api/v1/operations/{operation_id}/events", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if not line:
                if current["data"]:
                    found.append((current["id"], current["event"], json.loads(current["data"])))
                current = {"id": "", "event": "", "data": ""}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                current[name] = value
    return found


async def test_respond_async_answers_202_at_once_then_the_operation_reports_progress_and_result() -> None:
    async for served in start(serve_settings(**SLOW)):
        answer = await served.client.post(README_PATHS["create"], json=create_body(), headers=ASYNC)
        assert answer.status_code == 202
        assert answer.headers["location"] == "/api/v1/operations/op-001"
        assert answer.json() == {"operation": {"operation_id": "op-001", "status": "Running", "detail": None},
                                 "shots": []}
        running = (await served.client.get(answer.headers["location"])).json()
        assert running["status"] == "Running" and running["state"] in ("queued", "running")
        assert running["result"] is None
        view = await wait_done(served, "op-001")
        assert view["status"] == "Success" and view["state"] == "done"
        assert view["progress"]["keyframe"]["done"] == view["progress"]["keyframe"]["total"] >= 2
        assert view["progress"]["storyboard"] == {"total": 1, "done": 1, "cached": 0, "failed": 0}
        assert view["result"]["operation"]["status"] == "Success" and view["result"]["shots"][0]["image_url"]


async def test_sse_streams_the_engine_events_and_ends_with_the_operation() -> None:
    async for served in start(serve_settings(fake={"latency": 0.1})):
        assert (await served.client.post(README_PATHS["create"], json=create_body(), headers=ASYNC)).status_code == 202
        events = await sse_events(served.client, "op-001")
        kinds = [kind for _, kind, _ in events]
        assert kinds[0] == "stage_started" and "storyboard_ready" in kinds and "run_started" in kinds
        assert kinds[-2:] == ["run_finished", "operation"]
        assert events[-1][2]["status"] == "Success" and events[-2][2]["status"] == "done"
        numbers = [int(seq) for seq, kind, _ in events if kind != "operation"]
        assert numbers == list(range(1, len(numbers) + 1))
        middle = numbers[len(numbers) // 2]
        resumed = await sse_events(served.client, "op-001", **{"Last-Event-ID": str(middle)})
        assert [int(seq) for seq, kind, _ in resumed if kind != "operation"] == numbers[middle:]
        # A render's events name the film inside the story's folder, never the server's file system.
        render = {"operation_id": "op-003", "story_id": "story-001", "user_id": "u-001"}
        assert (await served.client.post(README_PATHS["render"], json=render, headers=ASYNC)).status_code == 202
        rendered = await sse_events(served.client, "op-003")
        finished = next(data for _, kind, data in rendered if kind == "run_finished")
        assert (finished["final_path"], finished["srt_path"]) == ("output/final.mp4", "output/final.srt")
        leaks = [(kind, data) for _, kind, data in events + rendered if str(served.settings.projects_dir) in json.dumps(data)]
        assert not leaks, leaks[:2]


async def test_the_same_operation_id_is_the_same_operation_and_another_body_is_409(served: Served) -> None:
    first = await served.client.post(README_PATHS["create"], json=create_body())
    op = served.service.get("op-001")
    project = served.settings.projects_dir / "users/u-001/stories/story-001/project.json"
    written = project.stat().st_mtime_ns
    again = await served.client.post(README_PATHS["create"], json=create_body())
    assert again.status_code == 200 and again.json() == first.json()
    assert served.service.get("op-001") is op and op.sequence == len(op.events)  # no second run, no new events
    assert project.stat().st_mtime_ns == written
    other = await served.client.post(README_PATHS["create"], json=create_body(style="油画"))
    assert other.status_code == 409 and other.json()["code"] == "CONFLICT"
    assert "different request" in other.json()["message"]


async def test_a_busy_story_refuses_a_second_operation_naming_the_running_one() -> None:
    async for served in start(serve_settings(**SLOW)):
        assert (await served.client.post(README_PATHS["create"], json=create_body(), headers=ASYNC)).status_code == 202
        second = await served.client.post(README_PATHS["create"], json=create_body("op-002", style="油画"))
        assert second.status_code == 409 and "op-001" in second.json()["message"]
        assert (await wait_done(served, "op-001"))["status"] == "Success"


async def test_a_full_queue_answers_503_with_retry_after() -> None:
    async for served in start(serve_settings(serve={"max_running": 1, "max_queue": 1}, **SLOW)):
        for number in (1, 2):
            answer = await served.client.post(README_PATHS["create"], headers=ASYNC,
                                              json=create_body(f"op-{number}", story_id=f"story-{number}"))
            assert answer.status_code == 202
        assert served.service.get("op-2").record.state == "queued"
        full = await served.client.post(README_PATHS["create"], json=create_body("op-3", story_id="story-3"))
        assert full.status_code == 503 and full.json()["code"] == "BUSY"
        assert int(full.headers["retry-after"]) >= 1
        assert "op-3" not in served.service.operations
        assert (await wait_done(served, "op-2"))["status"] == "Success"


async def test_cancel_stops_cleanly_and_the_same_request_continues_without_redoing_work() -> None:
    async for served in start(serve_settings(fake={"latency": 0.3})):
        assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
        render = {"operation_id": "op-r", "story_id": "story-001", "user_id": "u-001"}
        assert (await served.client.post(README_PATHS["render"], json=render, headers=ASYNC)).status_code == 202
        op = served.service.get("op-r")
        for _ in range(400):
            finished = [e for _, e in op.events if e.type == "stage_finished" and not e.cached]
            if len(finished) >= 2:
                break
            await asyncio.sleep(0.02)
        cancelled = (await served.client.post("/api/v1/operations/op-r/cancel")).json()
        assert cancelled["state"] == "cancelled" and cancelled["status"] == "Failed"
        assert "POST the same request again" in cancelled["detail"]
        done_before = {(e.shot_id, e.stage) for _, e in op.events if e.type == "stage_finished"}
        mark = op.sequence
        again = await served.client.post(README_PATHS["render"], json=render)
        assert again.status_code == 200 and again.json()["operation"]["status"] == "Success"
        resumed = [e for seq, e in op.events if seq > mark]
        started = {(e.shot_id, e.stage) for e in resumed if e.type == "stage_started"}
        assert done_before and not done_before & started
        film = await served.client.get(again.json()["video_url"])
        assert film.status_code == 200


class CountingKeyframe(FakeKeyframe):
    """Counts keyframe calls in flight across every story."""

    active = peak = calls = 0

    async def keyframe(self, request, out: Path, ctx) -> None:  # type: ignore[no-untyped-def]
        CountingKeyframe.active += 1
        CountingKeyframe.calls += 1
        CountingKeyframe.peak = max(CountingKeyframe.peak, CountingKeyframe.active)
        try:
            await super().keyframe(request, out, ctx)
        finally:
            CountingKeyframe.active -= 1


async def test_twenty_stories_created_at_once_share_the_lanes() -> None:
    settings = serve_settings(fake={"latency": 0.2}, serve={"max_running": 20})
    backends = BackendSet.from_settings(settings)
    backends.keyframe = CountingKeyframe(settings.fake)
    async for served in start(settings, backends=backends):
        answers = await asyncio.gather(*[
            served.client.post(README_PATHS["create"], json=create_body(f"op-{n:02d}", story_id=f"story-{n:02d}",
                                                                        user_id=f"user-{n % 4}")) for n in range(20)])
    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json()["operation"]["status"] == "Success" for a in answers)
    assert len({a.json()["shots"][0]["image_url"] for a in answers}) == 20
    stories = list((settings.projects_dir / "users").glob("user-*/stories/story-*/project.json"))
    assert len(stories) == 20
    assert CountingKeyframe.calls >= 40
    assert CountingKeyframe.peak <= lane_widths(settings)["fake"]  # ten users never multiply a lane


async def test_concurrent_twins_of_one_request_share_one_run_and_one_answer(served: Served) -> None:
    first, second = await asyncio.gather(*[served.client.post(README_PATHS["create"], json=create_body())
                                           for _ in range(2)])
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert sum(e.type == "storyboard_ready" for _, e in served.service.get("op-001").events) == 1
    missing = {"operation_id": "op-x", "story_id": "story-001", "user_id": "u-001", "shot_id": "shot_99"}
    twins = await asyncio.gather(*[served.client.post(README_PATHS["regenerate"], json=missing) for _ in range(2)])
    assert [t.status_code for t in twins] == [404, 404]


async def test_only_recent_operations_keep_their_events(served: Served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("s2v_tui.serve.service.KEEP_EVENTS_OF", 1)
    for number in (1, 2):
        assert (await served.client.post(README_PATHS["create"], json=create_body(
            f"op-{number}", story_id=f"story-{number}"))).status_code == 200
    old, recent = await sse_events(served.client, "op-1"), await sse_events(served.client, "op-2")
    assert [kind for _, kind, _ in old] == ["operation"] and old[0][2]["status"] == "Success"
    assert [kind for _, kind, _ in recent][-2:] == ["run_finished", "operation"]
