"""At 80×24 toasts stay short and above the status line; paths go whole into the log and the clipboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from tests.tui.conftest import open_studio, studio_app, wait_until


def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # over SSH: no file manager, no player
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


async def test_toasts_never_cover_the_status_line_or_the_footer(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        studio = await open_studio(pilot)
        app.clear_notifications()
        for n in range(3):
            app.notify(f"message {n} " + "word " * 20, title="a title", severity="error")
        await wait_until(pilot, lambda: len(app.screen.query(Toast)) >= 2, what="the toasts")
        await pilot.pause(0.2)
        kept = [studio.query_one("#status-line").region, studio.query_one("Footer").region]
        for toast in app.screen.query(Toast):
            assert toast.region.area and not any(toast.region.overlaps(region) for region in kept)
            assert toast.region.width <= 40


async def test_the_folder_key_names_the_project_folder_and_puts_its_path_in_log_and_clipboard(
        rendered_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_display(monkeypatch)
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        app.clear_notifications()
        await pilot.press("o")
        await wait_until(pilot, lambda: app._notifications, what="the notice")
        [toast] = list(app._notifications)
        assert toast.title == "project folder" and str(rendered_project) not in toast.message  # short
        assert app.clipboard == str(rendered_project)  # the project folder, not its output/
        [entry] = [e for e in studio.query_one("ProgressLog").entries if e.text.startswith("project folder:")]
        assert entry.text == f"project folder: {rendered_project}" and not entry.wrap
        await pilot.press("6")  # the log pane (at 80×24 one pane shows at a time)
        await wait_until(pilot, lambda: any(str(rendered_project) in line.text
                                            for line in studio.query_one("#log-lines").lines), what="the log line")
        [line] = [line for line in studio.query_one("#log-lines").lines if str(rendered_project) in line.text]
        assert line.text.endswith(str(rendered_project))  # one line, not wrapped at the pane's width


async def test_play_without_a_player_and_y_copy_the_film_path(rendered_project: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _no_display(monkeypatch)
    app = studio_app(project_dir=rendered_project)
    film = str(rendered_project / "output" / "final.mp4")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_studio(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.clipboard == film, what="the film's path on the clipboard")
        app.copy_to_clipboard("")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.clipboard == film, what="y to copy it again")
        assert all(film not in n.message for n in app._notifications)  # toasts stay short
