"""Cooperative cancellation shared by a front end and the engine."""

from __future__ import annotations

import asyncio


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
