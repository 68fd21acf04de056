"""The studio's takes: `t` lists the shot's takes with a picture of the highlighted one, enter uses it,
`i` brings the user's own file in, `e` writes the Jianying/CapCut draft of the rendered film."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from textual.widgets import Input, OptionList

from s2v_tui.domain.shot import Stage
from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.screens.takes import TakesScreen
from tests.tui.conftest import open_studio, run_job, studio_app, wait_until


def saved_stage(path: Path, shot: int, stage: str) -> dict:  # type: ignore[type-arg]
    return json.loads((path / "project.json").read_text(encoding="utf-8"))["shots"][shot]["stages"][stage]


async def test_t_shows_the_takes_and_enter_uses_the_highlighted_one(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the detail prompt")
        await run_job(pilot, studio, "enter")  # a new variation of shot 1's keyframe
        state = studio.session.project.shots[0].stages[Stage.KEYFRAME]
        assert [t.number for t in state.takes] == [1, 2]
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TakesScreen), what="the takes dialog")
        dialog = app.screen
        lines = [str(option.prompt) for option in dialog.query_one(OptionList).options]
        assert any("keyframe  1" in line for line in lines) and any("● keyframe  2" in line for line in lines)
        assert any("voice" in line for line in lines) and any("clip" in line for line in lines)
        await pilot.pause()
        assert dialog.query(".picture")  # the highlighted keyframe take's picture
        await pilot.press("up", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, TakesScreen), what="the dialog to close")
        assert state.asset == state.takes[0].asset and state.pin is not None
        await wait_until(pilot, lambda: saved_stage(rendered_project, 0, "keyframe")["pin"] is not None,
                         what="the choice to be saved")


async def test_i_brings_the_users_own_picture_in(rendered_project: Path, tmp_path: Path) -> None:
    picture = tmp_path / "mine.png"
    Image.new("RGB", (200, 300), (10, 120, 200)).save(picture)
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, TakesScreen), what="the takes dialog")
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the file prompt")
        app.screen.query_one(Input).value = str(picture)
        await pilot.press("enter")
        state = studio.session.project.shots[0].stages[Stage.KEYFRAME]
        await wait_until(pilot, lambda: state.asset is not None and state.asset.backend == "user",
                         what="the import")
        assert saved_stage(rendered_project, 0, "keyframe")["asset"]["backend"] == "user"
        assert (rendered_project / state.asset.path).is_file()


async def test_e_writes_the_draft_of_the_rendered_film(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the folder prompt")
        assert app.screen.query_one(Input).value == str(rendered_project / "output" / "jianying")
        await pilot.press("enter")
        draft = rendered_project / "output" / "jianying" / "draft_info.json"
        await wait_until(pilot, draft.is_file, timeout=60, what="the draft")
        await wait_until(pilot, lambda: studio.job is None, what="the export to end")
        assert len(json.loads(draft.read_text(encoding="utf-8"))["materials"]["videos"]) == len(
            studio.session.project.shots)
