"""Cooperative cancellation shared by a front end and the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CancelToken:
    """Set by a front end (escape in the TUI, Ctrl-C headless); the engine stops cleanly when set."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled by the user") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


async def finish_in_thread(function: Callable[..., T], *args: object) -> T:
    """`asyncio.to_thread` for writes that must not be left half done: a thread cannot be stopped, so
    when the caller is cancelled this waits for the thread's atomic write to finish (no stray `.tmp`;
    what it wrote is adopted on resume) and only then re-raises the cancel."""
    done = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        raise
