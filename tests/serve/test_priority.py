"""The shared lanes give a free slot to the oldest story's waiting call, keep the width, survive
cancellation, and never lose a slot."""

from __future__ import annotations

import asyncio

from s2v_tui.serve.priority import PRIORITY, PriorityLanes, PrioritySemaphore


async def test_a_free_slot_goes_to_the_oldest_storys_call_then_in_arrival_order() -> None:
    lane = PrioritySemaphore(1)
    order: list[str] = []
    gate = asyncio.Event()

    async def call(name: str, place: float) -> None:
        PRIORITY.set(place)
        async with lane:
            order.append(name)
            await gate.wait()

    holder = asyncio.create_task(call("holder", 0))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(call(name, place)) for name, place in
               [("new-a", 3.0), ("old-a", 1.0), ("new-b", 3.0), ("old-b", 1.0)]]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(holder, *waiters)
    assert order == ["holder", "old-a", "old-b", "new-a", "new-b"]


async def test_width_is_kept_and_a_cancelled_waiter_loses_no_slot() -> None:
    lane = PrioritySemaphore(2)
    inside = peak = 0
    release = asyncio.Event()

    async def call() -> None:
        nonlocal inside, peak
        async with lane:
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(call()) for _ in range(6)]
    await asyncio.sleep(0.01)
    tasks[3].cancel()  # waiting: removed from the queue
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError) and peak == 2
    async with lane, lane:  # both slots are free again
        pass


async def test_lanes_are_one_semaphore_per_name_with_the_configured_width() -> None:
    lanes = PriorityLanes({"fake": 3})
    assert lanes("fake") is lanes("fake") and lanes.width("fake") == 3
    assert lanes("dashscope-image") is not lanes("fake")
