"""New project from a story file: relative paths mean the folder s2v was started in, the dialog stays
open (with the text) on an error, and `tab` completes paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from s2v_tui.tui.screens.projects import ProjectsScreen
from tests.conftest import STORY_EN
from tests.tui.conftest import open_studio, studio_app, wait_until


@pytest.fixture
def started_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """s2v is started in `start/`, which holds `stories/lamp.en.txt`."""
    start = tmp_path / "start"
    (start / "stories").mkdir(parents=True)
    (start / "stories" / "lamp.en.txt").write_text(STORY_EN, encoding="utf-8")
    monkeypatch.chdir(start)
    return start


async def _file_dialog(pilot) -> Input:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen), what="the projects screen")
    await pilot.press("f")
    await wait_until(pilot, lambda: app.screen.query("#answer"), what="the file dialog")
    return app.screen.query_one("#answer", Input)


async def test_a_relative_path_means_the_folder_s2v_was_started_in(started_in: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = studio_app()
    monkeypatch.chdir(tmp_path)  # something later changed the process's folder: the user's meaning stands
    async with app.run_test(size=(80, 24)) as pilot:
        field = await _file_dialog(pilot)
        field.value = "stories/lamp.en.txt"
        await pilot.press("enter")
        studio = await open_studio(pilot)
        assert studio.session.project.script == STORY_EN


async def test_an_error_keeps_the_dialog_open_with_the_text(started_in: Path) -> None:
    app = studio_app()
    async with app.run_test(size=(80, 24)) as pilot:
        field = await _file_dialog(pilot)
        dialog = app.screen
        field.value = "stories/lamp.txt"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "not found" in str(dialog.query_one("#dialog-error").render()),
                         what="the error in the dialog")
        assert app.screen is dialog and field.value == "stories/lamp.txt"
        assert str(started_in / "stories" / "lamp.txt") in str(dialog.query_one("#dialog-error").render())


async def test_tab_completes_the_path(started_in: Path) -> None:
    app = studio_app()
    async with app.run_test(size=(80, 24)) as pilot:
        field = await _file_dialog(pilot)
        await pilot.press(*"sto")
        await wait_until(pilot, lambda: field._suggestion == "stories/", what="the folder suggested")
        await pilot.press("tab", "l")
        await wait_until(pilot, lambda: field._suggestion == "stories/lamp.en.txt", what="the file suggested")
        await pilot.press("tab")
        assert field.value == "stories/lamp.en.txt"
        await pilot.press("enter")
        studio = await open_studio(pilot)
        assert studio.session.project.title == "Lamp"
