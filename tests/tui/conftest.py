"""Fixtures for the studio tests: fake-backend settings, ready-made projects, and Pilot helpers."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from s2v_tui.config import Settings
from s2v_tui.engine.engine import Engine
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.app import S2VApp, make_app
from s2v_tui.tui.screens.studio import StudioScreen
from tests.conftest import fake_backends, make_settings, new_project


def studio_settings(**overrides: Any) -> Settings:
    """Fake backends with a little latency, so progress events and cancellation have time to happen."""
    fake = {"latency": 0.02, **overrides.pop("fake", {})}
    return make_settings(backends=fake_backends(), fake=fake, **overrides)


def write_project(path: Path, **kwargs: Any) -> Path:
    folder = ProjectFolder(path).lock()
    try:
        folder.save(new_project(**kwargs))
    finally:
        folder.unlock()
    return path


async def _run_engine(path: Path, settings: Settings, *, render: bool) -> None:
    """Make a project at `path` with the fake backends: its storyboard, and everything else if `render`."""
    folder = ProjectFolder(path).lock()
    project = new_project()
    folder.save(project)
    engine = Engine(folder, settings)
    try:
        async for _ in engine.run(project, storyboard="auto", shots=None if render else (), final=render):
            pass
    finally:
        await engine.aclose()
        folder.unlock()


def _template(factory: pytest.TempPathFactory, name: str, *, render: bool) -> Path:
    path = factory.mktemp("template") / name
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("S2V_CONFIG_FILE", os.devnull)
        asyncio.run(_run_engine(path, make_settings(backends=fake_backends()), render=render))
    return path


@pytest.fixture(scope="session")
def rendered_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project rendered once per test session (fake backends, tiny format); tests copy it."""
    path = _template(tmp_path_factory, "rendered", render=True)
    assert (path / "output" / "final.mp4").is_file()
    return path


@pytest.fixture(scope="session")
def storyboarded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with shots and nothing rendered yet."""
    return _template(tmp_path_factory, "storyboarded", render=False)


@pytest.fixture
def rendered_project(rendered_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rendered_template, tmp_path / "rendered"))


@pytest.fixture
def storyboarded_project(storyboarded_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(storyboarded_template, tmp_path / "storyboarded"))


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    """A project with a script and no shots yet."""
    return write_project(tmp_path / "fresh")


def studio_app(settings: Settings | None = None, project_dir: Path | None = None, **kwargs: Any) -> S2VApp:
    """The app as tests build it: fake backends, half-cell images, no wall-clock times in the log."""
    kwargs.setdefault("image_renderer", "halfcell")
    return make_app(settings or studio_settings(), project_dir, show_time=False, **kwargs)


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 15.0,
                     what: str = "condition") -> None:
    """Let the app run until `predicate()` is true (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def open_studio(pilot: Pilot[Any]) -> StudioScreen:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, StudioScreen), what="the studio to open")
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


async def run_job(pilot: Pilot[Any], studio: StudioScreen, *keys: str, timeout: float = 30.0) -> None:
    """Press `keys` (which start a job) and wait until that job has ended."""
    before = studio.tally  # each job starts a new tally; a fast job may be over before we look
    await pilot.press(*keys)
    await wait_until(pilot, lambda: studio.tally is not before, timeout=5, what="the job to start")
    await wait_until(pilot, lambda: studio.job is None, timeout=timeout, what="the job to end")
    await pilot.pause()


async def create_from_story(pilot: Pilot[Any], story: Path) -> StudioScreen:
    """On the projects screen: `f`, type the story file's path, `enter`; returns the opened studio."""
    from textual.widgets import Input

    from s2v_tui.tui.screens.projects import ProjectsScreen

    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen), what="the projects screen")
    await pilot.press("f")
    await wait_until(pilot, lambda: app.screen.query(Input), what="the file prompt")
    app.screen.query_one(Input).value = str(story)
    await pilot.press("enter")
    return await open_studio(pilot)
