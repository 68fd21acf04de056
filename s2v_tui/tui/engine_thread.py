"""A private event loop in a background thread, where the open project's engine runs.

Why: the engine and its backends do short synchronous work between awaits — PIL drawing, hashing,
JSON serialisation, a cloud SDK's blocking call — that is harmless headless but would freeze the
studio for as long as each step takes (measured: 300 ms stalls with the engine alone on 2 cores).
On its own loop that work can only delay the UI by a GIL switch interval (5 ms), not by a whole step.

`stream` runs an async iterator on the engine loop and hands its items to the caller's loop one by
one, so the UI still consumes the engine's events with a plain `async for`. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import CancelledError as FutureCancelledError
from typing import Any, TypeVar

T = TypeVar("T")
ENGINE_NICENESS = 10
"""How much lower the engine thread (and what it starts) runs than the UI, on Linux."""
_ITEM, _ERROR, _DONE = "item", "error", "done"


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux: a thread is a task with its own nice value).

    ffmpeg processes and worker threads started from here inherit it, so when a render saturates the
    cores the scheduler still lets the UI thread run: keys and repaints stay prompt, and the render
    loses nothing on an otherwise idle machine. Elsewhere `setpriority` would take a thread id for a
    process id, so it is not attempted.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           min(19, os.getpriority(os.PRIO_PROCESS, 0) + ENGINE_NICENESS))


class EngineLoop:
    """One daemon thread running one asyncio loop until `close()`."""

    def __init__(self, name: str = "s2v-engine") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        _lower_priority()
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine loop and wait for its result from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run a plain callback on the engine loop (thread-safe), e.g. setting a CancelToken."""
        self.loop.call_soon_threadsafe(callback)

    async def stream(self, make: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """Iterate `make()` on the engine loop, yielding its items here. Leaving the `async for`
        early (or being cancelled) cancels the producer and waits for it to clean up."""
        here = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def send(kind: str, value: Any) -> None:
            here.call_soon_threadsafe(queue.put_nowait, (kind, value))

        async def produce() -> None:
            try:
                async for item in make():
                    send(_ITEM, item)
            except BaseException as exc:  # noqa: BLE001 - every outcome must reach the consumer
                send(_ERROR, exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                send(_DONE, None)

        producer = asyncio.run_coroutine_threadsafe(produce(), self.loop)
        try:
            while True:
                kind, value = await queue.get()
                if kind == _ITEM:
                    yield value
                elif kind == _ERROR:
                    if isinstance(value, asyncio.CancelledError):
                        raise asyncio.CancelledError()
                    raise value
                else:
                    return
        finally:
            if not producer.done():
                producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, FutureCancelledError, Exception):
                await asyncio.wrap_future(producer)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop and join the thread (pending work should have been awaited first)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
