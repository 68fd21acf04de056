"""When the engine writes project.json: at once where it must, coalesced everywhere else.

A submitted paid task's id must be on disk before it is polled (`save`, durable on return). A finished
stage need not be: its asset record is already on disk (`storage.records`), so a crash before the
next save costs nothing — the next run adopts the files. Those saves are batched (`save_soon`), at
most one write per `SAVE_INTERVAL`, so a busy run writes project.json a few times a second, not once
per event; and work that must wait for the new state to be on disk (deleting a superseded file) is
queued behind the write that covers it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from s2v_tui.domain.errors import S2VError
from s2v_tui.domain.project import Project
from s2v_tui.engine.cancel import finish_in_thread
from s2v_tui.storage.project_store import ProjectFolder

SAVE_INTERVAL = 0.5


class ProjectSaver:
    def __init__(self, folder: ProjectFolder, project: Project) -> None:
        self.folder = folder
        self.project = project
        self._lock = asyncio.Lock()
        self._requested = 0
        self._written = 0
        self._after: list[tuple[int, Callable[[], None]]] = []
        self._timer: asyncio.Task[None] | None = None
        self.writes = 0

    async def save(self) -> None:
        """Returns once project.json holds the current state (concurrent callers share one write)."""
        self._requested += 1
        await self._write_upto(self._requested)

    def save_soon(self, then: Callable[[], None] | None = None) -> None:
        """Save within `SAVE_INTERVAL`; run `then` once that write is on disk."""
        self._requested += 1
        if then is not None:
            self._after.append((self._requested, then))
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(SAVE_INTERVAL)
        with contextlib.suppress(S2VError, OSError):  # the final synchronous save reports and retries
            await self._write_upto(self._requested)

    async def _write_upto(self, wanted: int) -> None:
        async with self._lock:
            if self._written >= wanted:
                return
            covered = self._requested
            data, version = self.folder.serialise(self.project)  # on the loop: the project is not thread-safe
            await finish_in_thread(self.folder.write, data, version)
            self.writes += 1
            self._written = max(self._written, covered)
        self._run_due(covered)

    def flush_sync(self) -> None:
        """The last save of a run, synchronous (a cancelled run must still leave a consistent file)."""
        if self._timer is not None:
            self._timer.cancel()
        covered = self._requested
        self.folder.save(self.project)
        self.writes += 1
        self._written = max(self._written, covered)
        self._run_due(covered)

    def _run_due(self, covered: int) -> None:
        due = [then for number, then in self._after if number <= covered]
        self._after = [(number, then) for number, then in self._after if number > covered]
        for then in due:
            then()
