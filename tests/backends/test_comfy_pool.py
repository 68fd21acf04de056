"""The ComfyUI host pool against fakes: failover from dead, stalled and slow hosts, re-probing,
per-host concurrency, and cancellation that interrupts our prompt and nobody else's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from s2v_tui.backends.comfy.backends import create_keyframe
from s2v_tui.backends.comfy.workflow import load_workflow
from s2v_tui.domain.errors import TransientError
from tests.backends.local_helpers import RecordingContext, wait_for
from tests.backends.test_comfy_backends import comfy_settings, keyframe_request
from tests.fakes.comfy import ComfyFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def hosts():  # type: ignore[no-untyped-def]
    servers = [ComfyFake(step_delay=0.02).start(), ComfyFake().start()]
    yield servers
    for server in servers:
        server.stop()


def running_on(server: ComfyFake) -> bool:
    return server._running is not None


async def test_host_killed_mid_job_finishes_on_the_other(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first, second = hosts
    backend = create_keyframe(comfy_settings(first, second, reprobe_after=30))
    ctx = RecordingContext(tmp_path / "w")
    try:
        job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx))
        await wait_for(lambda: running_on(first), what="the job to run on the first host")
        first.die()
        await asyncio.wait_for(job, 20)
        pool = backend.pool()
        state = pool.state(first.url)
        assert state is not None and state.down_until > time.monotonic(), "the dead host is set aside"
    finally:
        await backend.aclose()
    Image.open(tmp_path / "k.png").verify()
    assert len(first.prompts) == 1 and len(second.prompts) == 1
    assert ctx.remembered[-1].extra["host"] == second.url
    assert any(first.url in message and "another host" in message for _, message in ctx.logs)


async def test_stalled_host_is_abandoned_and_our_prompt_interrupted(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first, second = hosts
    first.stall_next()
    backend = create_keyframe(comfy_settings(first, second, stall_timeout=1))
    ctx = RecordingContext(tmp_path / "w")
    started = time.monotonic()
    try:
        await backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx)
    finally:
        await backend.aclose()
    assert time.monotonic() - started < 10
    assert len(second.prompts) == 1
    ours = first.prompts[0]["prompt_id"]
    assert first.interrupts and all(i["prompt_id"] == ours for i in first.interrupts)
    assert first.interrupts[0]["interrupted"], "the stalled host stops burning time on our prompt"
    assert any("stalled" in message for _, message in ctx.logs)


async def test_slow_host_passes_the_job_deadline_and_fails_over(tmp_path: Path) -> None:
    with ComfyFake(step_delay=0.2) as slow, ComfyFake() as fast:
        backend = create_keyframe(comfy_settings(slow, fast, job_deadline=1, stall_timeout=10))
        ctx = RecordingContext(tmp_path / "w")
        try:
            await backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx)
        finally:
            await backend.aclose()
    assert len(fast.prompts) == 1
    assert any("job deadline" in message for _, message in ctx.logs)


async def test_no_usable_host_fails_fast_naming_each(hosts: list[ComfyFake], tmp_path: Path) -> None:
    for server in hosts:
        server.die()
    backend = create_keyframe(comfy_settings(*hosts))
    started = time.monotonic()
    try:
        with pytest.raises(TransientError) as caught:
            await backend.keyframe(keyframe_request(), tmp_path / "k.png", RecordingContext(tmp_path / "w"))
    finally:
        await backend.aclose()
    assert time.monotonic() - started < 10
    assert all(server.url in caught.value.message for server in hosts)
    assert caught.value.retry_after is not None and caught.value.retry_after <= 0.5, "retry when re-probed"


async def test_failed_probe_skips_a_host_until_it_is_probed_again(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first, second = hosts
    first.faults.add("GET /system_stats", Fault(status=500, body="overloaded"))
    backend = create_keyframe(comfy_settings(first, second, reprobe_after=0.3))
    try:
        await backend.keyframe(keyframe_request(), tmp_path / "a.png", RecordingContext(tmp_path / "w1"))
        assert (len(first.prompts), len(second.prompts)) == (0, 1)
        await asyncio.sleep(0.35)
        await backend.keyframe(keyframe_request(), tmp_path / "b.png", RecordingContext(tmp_path / "w2"))
    finally:
        await backend.aclose()
    assert len(first.requests_to("GET", "/system_stats")) == 2
    assert len(first.prompts) == 1, "after re-probing, the first host takes work again"


async def test_least_busy_dispatch_and_per_host_concurrency(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first, second = hosts
    backend = create_keyframe(comfy_settings(first, second))
    try:
        await asyncio.gather(*(backend.keyframe(keyframe_request(seed), tmp_path / f"{seed}.png",
                                                RecordingContext(tmp_path / f"w{seed}")) for seed in (1, 2)))
        await asyncio.gather(*(backend.keyframe(keyframe_request(seed), tmp_path / f"{seed}.png",
                                                RecordingContext(tmp_path / f"w{seed}")) for seed in (3, 4, 5)))
    finally:
        await backend.aclose()
    assert len(first.prompts) + len(second.prompts) == 5
    assert len(first.prompts) >= 2 and len(second.prompts) >= 2, "concurrent jobs spread over both hosts"
    for server in hosts:  # one at a time per host: each prompt was queued after the previous one finished
        finished = [entry["status"]["messages"][-1][1]["timestamp"] for entry in server.history.values()]
        created = [p["extra_data"]["create_time"] for p in server.prompts]
        assert all(created[i + 1] >= finished[i] for i in range(len(created) - 1))


async def test_cancel_interrupts_our_running_prompt(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first = hosts[0]
    first.stall_next()  # our prompt holds at its sampler, so the cancel surely lands while it runs
    backend = create_keyframe(comfy_settings(first, stall_timeout=30))
    try:
        job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png",
                                                   RecordingContext(tmp_path / "w")))
        await wait_for(lambda: running_on(first), what="our prompt to run")
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    finally:
        await backend.aclose()
    ours = first.prompts[0]["prompt_id"]
    assert first.interrupts == [{"prompt_id": ours, "running": ours, "interrupted": True}]
    await wait_for(lambda: ours in first.history, what="the interrupted prompt to end")
    assert first.history[ours]["status"]["messages"][-1][0] == "execution_interrupted"


async def test_cancel_while_queued_leaves_other_clients_prompts_alone(hosts: list[ComfyFake], tmp_path: Path) -> None:
    first = hosts[0]
    first.stall_next()  # the other client's prompt runs until someone interrupts *it*
    graph = load_workflow("t2i", None, None).render({"prompt": "someone else's picture", "seed": 1})
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{first.url}/prompt", json={"prompt": graph, "client_id": "another-user"})
    foreign = response.json()["prompt_id"]
    backend = create_keyframe(comfy_settings(first, stall_timeout=30))
    try:
        job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png",
                                                   RecordingContext(tmp_path / "w")))
        await wait_for(lambda: len(first.prompts) == 2, what="our prompt to be queued behind the other")
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    finally:
        await backend.aclose()
    ours = first.prompts[1]["prompt_id"]
    assert [i["prompt_id"] for i in first.interrupts] == [ours] and not first.interrupts[0]["interrupted"]
    await asyncio.sleep(0.2)
    assert first._running is not None and first._running.prompt_id == foreign, "the other prompt runs on"
    assert first._queue == [] and ours not in first.history, "our queued prompt was deleted, never run"


async def test_waiting_in_line_on_a_busy_host_is_not_a_stall(tmp_path: Path) -> None:
    with ComfyFake(step_delay=0.06) as comfy:  # each prompt samples for ~1.2 s, longer than stall_timeout
        backend = create_keyframe(comfy_settings(comfy, per_host_concurrency=2, stall_timeout=1))
        ctxs = [RecordingContext(tmp_path / f"w{seed}") for seed in (1, 2)]
        try:
            await asyncio.gather(*(backend.keyframe(keyframe_request(seed), tmp_path / f"{seed}.png", ctx)
                                   for seed, ctx in zip((1, 2), ctxs, strict=True)))
        finally:
            await backend.aclose()
    assert len(comfy.prompts) == 2 and comfy.interrupts == []
    assert not any("stalled" in message for ctx in ctxs for _, message in ctx.logs)


# -- the host's own queue (issue 11 item 3) and saying when a host drops out (item 4) -------------------
async def queue_foreign(server: ComfyFake, count: int) -> list[str]:
    """Other users' prompts on `server`: the first holds at its sampler until interrupted, the rest wait."""
    server.stall_next()
    ids = []
    async with httpx.AsyncClient() as client:
        for seed in range(count):
            graph = load_workflow("t2i", None, None).render({"prompt": "someone else's picture", "seed": seed})
            response = await client.post(f"{server.url}/prompt", json={"prompt": graph, "client_id": "another-user"})
            ids.append(response.json()["prompt_id"])
    await wait_for(lambda: running_on(server), what="the other user's prompt to run")
    return ids


async def test_a_host_busy_with_other_users_prompts_is_not_taken_for_idle(tmp_path: Path) -> None:
    with ComfyFake() as busy, ComfyFake() as idle:
        await queue_foreign(busy, 3)
        backend = create_keyframe(comfy_settings(busy, idle))
        try:
            await backend.keyframe(keyframe_request(), tmp_path / "k.png", RecordingContext(tmp_path / "w"))
        finally:
            await backend.aclose()
        assert len(idle.prompts) == 1 and len(busy.prompts) == 3, "the job went to the host with nothing queued"


async def test_waiting_for_a_slot_on_a_short_queue_beats_joining_a_long_one(tmp_path: Path) -> None:
    with ComfyFake() as busy, ComfyFake(step_delay=0.02) as idle:
        await queue_foreign(busy, 3)
        backend = create_keyframe(comfy_settings(busy, idle, start_timeout=60))
        try:
            jobs = [asyncio.create_task(backend.keyframe(keyframe_request(seed), tmp_path / f"{seed}.png",
                                                         RecordingContext(tmp_path / f"w{seed}"))) for seed in (1, 2)]
            await wait_for(lambda: all(job.done() for job in jobs) or len(busy.prompts) > 3, timeout=30,
                           what="both jobs to finish, or one to queue behind the other user's prompts")
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await backend.aclose()
        assert len(busy.prompts) == 3 and len(idle.prompts) == 2, "both ran, one after the other, on the idle host"


def moving_settings(first: ComfyFake, second: ComfyFake):  # type: ignore[no-untyped-def]
    return comfy_settings(first, second, start_timeout=0.3, job_deadline=8, stall_timeout=30)


async def free(server: ComfyFake) -> None:
    """The other user clears their queue and stops their running prompt."""
    async with httpx.AsyncClient() as client:
        await client.post(f"{server.url}/queue", json={"clear": True})
        await client.post(f"{server.url}/interrupt")


async def test_a_job_that_has_not_started_moves_to_a_host_that_became_idle(tmp_path: Path) -> None:
    with ComfyFake() as first, ComfyFake() as second:
        await queue_foreign(first, 1)
        await queue_foreign(second, 2)  # busier, so the job goes to the first host and waits there
        backend = create_keyframe(moving_settings(first, second))
        ctx = RecordingContext(tmp_path / "w")
        try:
            job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx))
            await wait_for(lambda: len(first.prompts) == 2, what="our prompt to wait on the first host")
            await free(second)
            await asyncio.wait_for(job, 20)
        finally:
            await backend.aclose()
        ours = first.prompts[1]["prompt_id"]
        assert ours not in first.history and all(item.prompt_id != ours for item in first._queue), \
            "withdrawn from the first host's queue: it never runs twice"
        assert first.interrupts == [], "nothing was interrupted on the first host, the other user's prompt runs on"
        assert first._running is not None and first._running.prompt_id == first.prompts[0]["prompt_id"]
        moved = second.prompts[-1]
        assert moved["client_id"] != "another-user" and second.history[moved["prompt_id"]]["status"]["completed"]
    Image.open(tmp_path / "k.png").verify()
    assert any(f"moving the job to {second.url}" in m and "had not started" in m for _, m in ctx.logs)
    assert ctx.remembered[-1].extra["host"] == second.url


async def test_a_job_that_starts_as_it_is_withdrawn_stays_where_it_is(tmp_path: Path) -> None:
    with ComfyFake() as first, ComfyFake() as second:
        await queue_foreign(first, 1)
        await queue_foreign(second, 2)
        first.race_next_delete()  # ours is taken from the queue just as the withdrawal arrives
        backend = create_keyframe(moving_settings(first, second))
        try:
            job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png",
                                                       RecordingContext(tmp_path / "w")))
            await wait_for(lambda: len(first.prompts) == 2, what="our prompt to wait on the first host")
            await free(second)
            await asyncio.wait_for(job, 20)
            state = backend.pool().state(second.url)
            assert state is not None and state.busy == 0, "the slot claimed on the idle host was given back"
        finally:
            await backend.aclose()
        ours = first.prompts[1]["prompt_id"]
        assert first.history[ours]["status"]["status_str"] == "success"
        assert [p["client_id"] for p in second.prompts] == ["another-user"] * 2, "it ran once, on the first host"
    Image.open(tmp_path / "k.png").verify()


async def test_an_unreachable_host_is_named_once(tmp_path: Path) -> None:
    with ComfyFake() as dead, ComfyFake() as alive:
        dead.die()
        backend = create_keyframe(comfy_settings(dead, alive, reprobe_after=0.1))
        ctxs = [RecordingContext(tmp_path / f"w{i}") for i in range(3)]
        try:
            for index, ctx in enumerate(ctxs):
                await backend.keyframe(keyframe_request(index), tmp_path / f"{index}.png", ctx)
                await asyncio.sleep(0.15)  # past reprobe_after: the dead host is probed again each time
        finally:
            await backend.aclose()
        said = [(level, m) for ctx in ctxs for level, m in ctx.logs if dead.url in m]
        assert len(alive.prompts) == 3
    assert len(said) == 1 and said[0][0] == "warning"
    assert "is unreachable" in said[0][1] and "leaving it out" in said[0][1]


async def test_a_host_that_answers_again_is_named_once_more(tmp_path: Path) -> None:
    with ComfyFake() as flaky, ComfyFake() as steady:
        flaky.faults.add("GET /system_stats", Fault(status=500, body="starting up"))
        backend = create_keyframe(comfy_settings(flaky, steady, reprobe_after=0.2))
        ctxs = [RecordingContext(tmp_path / f"w{i}") for i in range(3)]
        try:
            for index, ctx in enumerate(ctxs):
                await backend.keyframe(keyframe_request(index), tmp_path / f"{index}.png", ctx)
                await asyncio.sleep(0.25)
        finally:
            await backend.aclose()
    said = [[m for level, m in ctx.logs if flaky.url in m and level == "warning"] for ctx in ctxs]
    assert len(said[0]) == 1 and "HTTP 500" in said[0][0] and "leaving it out" in said[0][0]
    assert len(said[1]) == 1 and "answers again" in said[1][0]
    assert said[2] == [] and len(flaky.prompts) == 2
