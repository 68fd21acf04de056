"""Snapshot tests of the main screens at 80×24 (SSH-sized) and 160×48.

Deterministic by construction: fixed projects (fake backends, tiny format), half-cell images, no
wall-clock times in the log, no cursor blink, and the screenshot is taken only once the background
plan and preview have arrived. The final video is removed from the rendered project so its byte size
(which depends on the ffmpeg build) never appears. Update with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from s2v_tui.tui.screens.projects import ProjectsScreen
from s2v_tui.tui.screens.studio import StudioScreen
from tests.conftest import STORY_EN
from tests.tui.conftest import studio_app, studio_settings, wait_until, write_project

SIZES = [(80, 24), (160, 48)]
STUDIO_SIZES = [(60, 20), *SIZES]


def _steady(app: Any) -> None:
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


@pytest.fixture
def studio_snapshot_project(rendered_project: Path) -> Path:
    (rendered_project / "output" / "final.mp4").unlink()
    shutil.rmtree(rendered_project / "output")
    return rendered_project


async def _studio_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, StudioScreen), what="the studio")
    studio: StudioScreen = app.screen  # type: ignore[assignment]
    await wait_until(pilot, lambda: studio.plan is not None, what="the plan")
    await wait_until(pilot, lambda: len(studio.query_one("#preview-images").children) == 3, what="the preview")
    _steady(app)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", STUDIO_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_studio(snap_compare: Any, studio_snapshot_project: Path, size: tuple[int, int]) -> None:
    app = studio_app(project_dir=studio_snapshot_project)
    assert snap_compare(app, terminal_size=size, run_before=_studio_ready)


def test_studio_shot_form_at_80x24(snap_compare: Any, studio_snapshot_project: Path) -> None:
    async def show_form(pilot: Pilot[Any]) -> None:
        await _studio_ready(pilot)
        await pilot.press("3")
        _steady(pilot.app)
        await pilot.pause(0.2)

    app = studio_app(project_dir=studio_snapshot_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=show_form)


def test_camera_dropdown_at_80x24(snap_compare: Any, studio_snapshot_project: Path) -> None:
    """Chinese camera labels whole over the form (a label's edge once split a character into spaces)."""
    async def open_dropdown(pilot: Pilot[Any]) -> None:
        await _studio_ready(pilot)
        await pilot.press("3")
        pilot.app.screen.query_one("#field-camera").focus()
        await pilot.press("enter")
        _steady(pilot.app)
        await pilot.pause(0.3)

    app = studio_app(project_dir=studio_snapshot_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_dropdown)


def test_render_pane_at_80x24(snap_compare: Any, studio_snapshot_project: Path) -> None:
    """A reopened project shows what is built (the film was removed for the snapshot: "no final video")."""
    async def render_pane(pilot: Pilot[Any]) -> None:
        await _studio_ready(pilot)
        await pilot.press("5")
        await pilot.pause(0.3)

    app = studio_app(project_dir=studio_snapshot_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=render_pane)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_projects(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  size: tuple[int, int]) -> None:
    monkeypatch.chdir(tmp_path)  # a relative projects_dir: the title shows no machine-specific path
    write_project(tmp_path / "projects" / "lamp", script=STORY_EN, project_id="lamp", language="en")
    write_project(tmp_path / "projects" / "lantern", project_id="lantern")

    async def listed(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen) and app.screen.summaries,
                         what="the list")
        await pilot.pause(0.2)

    app = studio_app(studio_settings(projects_dir="projects"))
    assert snap_compare(app, terminal_size=size, run_before=listed)


def test_help_at_80x24(snap_compare: Any, studio_snapshot_project: Path) -> None:
    async def help_open(pilot: Pilot[Any]) -> None:
        await _studio_ready(pilot)
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.3)

    app = studio_app(project_dir=studio_snapshot_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=help_open)
