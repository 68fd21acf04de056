"""Fixtures for the cloud backend tests: running fakes, settings pointed at them, a recording context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from s2v_tui.config import Settings
from s2v_tui.domain.shot import RemoteTask
from tests.conftest import make_settings
from tests.fakes.dashscope import DashScopeFake
from tests.fakes.oss import OssFake

DASHSCOPE_KEY = "sk-test-fake-dashscope-0001"


class RecordingContext:
    """`StageContext` as the engine implements it (pending_task only for the same input hash), recording
    what the backend did so tests can check the order of submit / remember / poll."""

    def __init__(self, workdir: Path, *, shot_id: str = "shot_01", input_hash: str = "hash-1",
                 project_id: str = "test-story", on_remember: Any = None) -> None:
        self.shot_id, self.input_hash, self.project_id, self.workdir = shot_id, input_hash, project_id, workdir
        self.task: RemoteTask | None = None
        self.remembered: list[RemoteTask] = []
        self.forgotten = 0
        self.paid: list[str] = []
        self.logs: list[tuple[str, str]] = []
        self.progress_calls: list[tuple[float, str]] = []
        self._on_remember = on_remember

    @property
    def pending_task(self) -> RemoteTask | None:
        return self.task if self.task is not None and self.task.input_hash == self.input_hash else None

    def progress(self, fraction: float, message: str = "") -> None:
        self.progress_calls.append((fraction, message))

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None:
        self.logs.append((level, message))

    async def remember_task(self, task: RemoteTask) -> None:
        if self._on_remember is not None:
            self._on_remember(task)
        self.task = task
        self.remembered.append(task)

    async def forget_task(self) -> None:
        self.task = None
        self.forgotten += 1

    def count_paid_call(self, provider: str) -> None:
        self.paid.append(provider)


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    work = tmp_path / "work"
    work.mkdir()
    return RecordingContext(work)


@pytest.fixture
def dashscope_fake() -> Iterator[DashScopeFake]:
    fake = DashScopeFake(api_key=DASHSCOPE_KEY, polls_to_finish=2).start()
    yield fake
    fake.stop()


@pytest.fixture
def oss_fake() -> Iterator[OssFake]:
    fake = OssFake().start()
    yield fake
    fake.stop()


def dashscope_settings(fake: DashScopeFake, *, key: str | None = None, oss: OssFake | None = None,
                       **dashscope: Any) -> Settings:
    """Settings with every DashScope base URL on the fake, fast polling and fast retries."""
    section: dict[str, Any] = {"api_key": key or fake.api_key, "http_base_url": fake.base_url,
                               "websocket_base_url": fake.ws_base_url, "poll_interval": 0.01,
                               "poll_deadline": 20, "request_timeout": 5, **dashscope}
    overrides: dict[str, Any] = {"dashscope": section}
    if oss is not None:
        overrides["oss"] = {"endpoint": oss.url, "bucket": oss.bucket, "access_key_id": oss.access_key_id,
                            "access_key_secret": oss.access_key_secret, "prefix": "s2v-test"}
    return make_settings(**overrides)
