"""Shared lanes that serve the oldest story first.

All stories share one set of lanes (same widths as for one project). With plain FIFO semaphores, twenty
stories' stage calls interleave in arrival order: every story's keyframes go before any story's clips,
the encode lane starves until the very end, and all twenty stories finish late together. Here a free
slot goes to the waiting call of the oldest story (a story's next operation, sent soon after its
previous one finished, keeps that story's place), so stories flow through the pipeline one after
another — the encode lane gets work early, and each user's film is ready as soon as possible. Calls of
one story keep their FIFO order. Nothing starves: a story's place is its arrival time, and newer
stories only wait for stories that came before them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from contextvars import ContextVar
from types import TracebackType

from s2v_tui.engine.lanes import DEFAULT_WIDTH, Lanes

PRIORITY: ContextVar[float] = ContextVar("s2v_serve_priority", default=0.0)
"""The running operation's place (lower goes first); set by the service, inherited by the engine's tasks."""


class PrioritySemaphore:
    """A semaphore whose waiters are woken by `PRIORITY` (then arrival), not by arrival alone."""

    def __init__(self, width: int) -> None:
        self._free = width
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    async def acquire(self) -> None:
        if self._free > 0:  # while anyone waits there is no free slot: release hands it over directly
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (PRIORITY.get(), next(self._arrival), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed to us as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():  # a cancelled waiter is skipped
                future.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.release()


class PriorityLanes(Lanes):
    def __init__(self, widths: dict[str, int]) -> None:
        super().__init__(widths)
        self._priority_lanes: dict[str, PrioritySemaphore] = {}

    def __call__(self, name: str) -> PrioritySemaphore:  # type: ignore[override]
        if name not in self._priority_lanes:
            self._priority_lanes[name] = PrioritySemaphore(self._widths.get(name, DEFAULT_WIDTH))
        return self._priority_lanes[name]
