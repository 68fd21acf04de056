"""Words on screen: camera labels in the project's language (whole, even in an open dropdown), the
storyboard's summary in shots, and "1 shot" rather than "1 shots"."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from s2v_tui.domain.camera import CameraMove
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_EN
from tests.tui.conftest import open_studio, run_job, studio_app, wait_until, write_project


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The screen as the terminal gets it (the compositor's output, overlays included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def test_camera_labels_follow_the_language_and_the_stored_value_stays_chinese() -> None:
    assert CameraMove.ORBIT_RIGHT.label("en") == "orbit right"
    assert CameraMove.ORBIT_RIGHT.label("zh") == "绕轴横向右旋转" == CameraMove.ORBIT_RIGHT.value


async def test_an_english_project_shows_english_camera_moves_and_stores_the_chinese_label(tmp_path: Path) -> None:
    project = write_project(tmp_path / "lamp", script=STORY_EN, project_id="lamp", language="en")
    app = studio_app(project_dir=project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await run_job(pilot, studio, "g")
        shot = studio.session.project.shots[0]
        assert studio.query_one("ShotList").rows_shown[0].camera == shot.camera.english
        camera = studio.query_one("#field-camera", Select)
        labels = [str(prompt) for prompt, _ in camera._options]
        assert "orbit right" in labels and not any("绕" in label for label in labels)
        camera.value = CameraMove.ORBIT_RIGHT
        await pilot.pause(0.2)
        assert shot.camera == CameraMove.ORBIT_RIGHT
        await wait_until(pilot, lambda: not studio.session.dirty, what="the autosave")
    stored = ProjectFolder(project).load().shots[0].camera
    assert stored.value == "绕轴横向右旋转"


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_an_open_camera_dropdown_shows_every_chinese_label_whole(rendered_project: Path,
                                                                       size: tuple[int, int]) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=size) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("3")
        studio.query_one("#field-camera", Select).focus()
        await pilot.press("enter")
        await pilot.pause(0.3)
        shown = "\n".join(screen_lines(app))
        for move in CameraMove:
            assert move.value in shown, f"{move.value} is not whole on screen"


async def test_the_storyboard_summary_counts_shots_and_one_is_one_shot(tmp_path: Path) -> None:
    project = write_project(tmp_path / "one", script="# One\n\nA single lamp burns.", project_id="one", language="en")
    app = studio_app(project_dir=project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await run_job(pilot, studio, "g")
        assert len(studio.session.project.shots) == 1
        texts = [entry.text for entry in studio.query_one("ProgressLog").entries]
        assert any(text.startswith("storyboard: done") and text.endswith("— 1 shot") for text in texts), texts
        assert not any("0 built" in text or "1 shots" in text for text in texts)
        assert " · 1 shot · " in str(studio.query_one("#title-bar").render())
