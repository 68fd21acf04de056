"""Helpers for the local-backend tests: a recording `StageContext` and a wait-until for fake state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from s2v_tui.domain.shot import RemoteTask


class RecordingContext:
    """A `StageContext` that records progress, logs and the remembered task (like project.json would)."""

    def __init__(self, workdir: Path, *, shot_id: str = "shot_01", input_hash: str = "h" * 16,
                 task: RemoteTask | None = None) -> None:
        self.project_id = "test-story"
        self.shot_id = shot_id
        self.input_hash = input_hash
        self.workdir = workdir
        self.task = task
        self.progress_calls: list[tuple[float, str]] = []
        self.logs: list[tuple[str, str]] = []
        self.remembered: list[RemoteTask] = []
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def pending_task(self) -> RemoteTask | None:
        return self.task if self.task is not None and self.task.input_hash == self.input_hash else None

    def progress(self, fraction: float, message: str = "") -> None:
        self.progress_calls.append((fraction, message))

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append((level, message))

    async def remember_task(self, task: RemoteTask) -> None:
        self.task = task
        self.remembered.append(task)

    async def forget_task(self) -> None:
        self.task = None

    def count_paid_call(self, provider: str) -> None:
        raise AssertionError(f"a local backend counted a paid call to {provider}")


async def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `condition()` on the loop until it is truthy; fail the test after `timeout` seconds."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")
