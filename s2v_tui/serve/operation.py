"""One operation while the server knows it: its persisted record, the engine events it produced (for
SSE subscribers, with sequence numbers so a reconnecting client resumes with `Last-Event-ID`), its
per-stage progress, and the means to wait for it or cancel it."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from s2v_tui.domain.events import (
    Event,
    RunStarted,
    StageFailed,
    StageFinished,
    StoryboardReady,
)
from s2v_tui.domain.operation import OperationRecord
from s2v_tui.engine.cancel import CancelToken

MAX_EVENTS = 4000
"""Events kept per operation for late subscribers (progress events beyond it are the first to go)."""
PER_SHOT_STAGES = ("keyframe", "voice", "clip", "segment")


class Operation:
    def __init__(self, record: OperationRecord) -> None:
        self.record = record
        self.events: deque[tuple[int, Event]] = deque(maxlen=MAX_EVENTS)
        self.sequence = 0
        self.cancel = CancelToken()
        self.task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        if not record.active:
            self.finished.set()
        self._changed = asyncio.Event()
        self.progress: dict[str, dict[str, int]] = {}
        self.place = 0.0
        """Its story's place in the shared lanes (`serve.priority`)."""
        self.rejected: BaseException | None = None
        """Why the request was refused before it was queued (for a concurrent twin of that request)."""

    @property
    def id(self) -> str:
        return self.record.operation_id

    @property
    def story_key(self) -> tuple[str, str]:
        return self.record.user_id, self.record.story_id

    # -- events --------------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        self.sequence += 1
        self.events.append((self.sequence, event))
        self._count(event)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def mark_finished(self) -> None:
        self.finished.set()
        self._wake()

    def _stage(self, name: str) -> dict[str, int]:
        return self.progress.setdefault(name, {"total": 0, "done": 0, "cached": 0, "failed": 0})

    def _count(self, event: Event) -> None:
        if isinstance(event, StoryboardReady):
            self._stage("storyboard").update(total=1, done=1)
        elif isinstance(event, RunStarted):
            stages = ("keyframe",) if self.record.kind != "render" else (*PER_SHOT_STAGES, "final")
            for name in stages:
                self._stage(name)["total"] = 1 if name == "final" else event.shots
        elif isinstance(event, StageFinished):
            counts = self._stage(event.stage)
            counts["done"] += 1
            counts["cached"] += event.cached
        elif isinstance(event, StageFailed):
            self._stage(event.stage)["failed"] += 1

    def reset_progress(self) -> None:
        self.progress = {}

    async def next_batch(self, after: int) -> list[tuple[int, Event]]:
        """The events after sequence `after`, waiting for some while the operation runs; [] once it is
        over. A subscriber slower than `MAX_EVENTS` skips what was dropped (progress it can no longer use)."""
        while True:
            changed = self._changed
            batch = [(seq, event) for seq, event in list(self.events) if seq > after]
            if batch:
                return batch
            if self.finished.is_set():
                return []
            await changed.wait()

    def progress_view(self) -> dict[str, Any]:
        """A copy (safe to take from another thread while the engine counts)."""
        return {stage: dict(counts) for stage, counts in list(self.progress.items())}
