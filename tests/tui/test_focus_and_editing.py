"""Keys never land in the wrong field: panes take focus without selecting text, fields are entered on
purpose (`enter`/`e`) and left with `escape`, every edit can be undone, and the editing keys are told."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, TextArea

from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.screens.help import HelpScreen
from s2v_tui.tui.widgets.shot_list import ShotList
from tests.conftest import STORY_EN
from tests.tui.conftest import create_from_story, open_studio, run_job, studio_app, wait_until


async def test_choosing_the_shot_pane_never_types_the_next_key_into_a_field(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        subject = studio.session.project.shots[0].subject
        await pilot.press("3")
        assert not isinstance(app.focused, Input | TextArea)
        await pilot.press("question_mark")  # a command here, not text
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape", "x", "z")
        assert studio.session.project.shots[0].subject == subject
        assert not studio.session.dirty


async def test_a_project_created_from_a_story_file_takes_command_keys_at_once(tmp_path: Path) -> None:
    story = tmp_path / "lamp.en.txt"
    story.write_text(STORY_EN, encoding="utf-8")
    app = studio_app()
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await create_from_story(pilot, story)
        assert studio.active_pane == "script" and not isinstance(app.focused, TextArea)
        await run_job(pilot, studio, "g")  # "g storyboard", as the hint line says — not a "g" in the story
        assert studio.session.project.script == STORY_EN
        assert studio.session.project.shots


async def test_enter_on_a_shot_opens_its_form_for_typing_and_escape_makes_keys_commands_again(
        rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        shot = studio.session.project.shots[1]
        await pilot.press("down", "enter")
        field = app.focused
        assert studio.active_pane == "detail" and isinstance(field, Input) and field.id == "field-subject"
        assert field.selection.is_empty and field.cursor_position == len(shot.subject)
        await pilot.press("X")
        assert shot.subject.endswith("X")
        await pilot.press("escape")
        assert not isinstance(app.focused, Input | TextArea) and studio.active_pane == "detail"
        await pilot.press("l")  # a command again: lock the shot
        assert shot.locked and shot.subject.endswith("X")
        await pilot.press("e")  # "e" enters the form again
        assert app.focused is field


async def test_every_field_edit_can_be_undone(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        shot = studio.session.project.shots[0]
        subject, detail = shot.subject, shot.detail
        await pilot.press("enter")  # into the subject field
        await pilot.press("ctrl+a", *"gull")  # select all, then typing replaces it
        assert shot.subject == "gull"
        await pilot.press("ctrl+z")
        assert shot.subject == subject
        await pilot.press("ctrl+y")
        assert shot.subject == "gull"
        await pilot.press("ctrl+z")
        detail_field = studio.query_one("#field-detail", TextArea)
        detail_field.focus()
        await pilot.press("ctrl+a", *"sea")
        await pilot.pause()
        assert shot.detail == "sea"
        for _ in range(3):  # TextArea undoes the replacement and the typing as separate steps
            await pilot.press("ctrl+z")
        await pilot.pause()
        assert shot.detail == detail and shot.subject == subject
        await pilot.press("escape", "2", "down", "enter")  # another shot: its fields start with nothing to undo
        second = studio.session.project.shots[1]
        assert studio.query_one(ShotList).selected_shot == second.id
        await pilot.press("ctrl+z")
        assert second.subject == studio.query_one("#field-subject", Input).value != subject


async def test_ctrl_a_selects_all_in_the_detail_editor(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        detail = studio.query_one("#field-detail", TextArea)
        detail.focus()
        await pilot.press("ctrl+a")
        assert detail.selected_text == detail.text and detail.text


async def test_the_regenerate_dialog_selects_the_old_detail_and_names_the_editing_keys(
        rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the detail prompt")
        field = app.screen.query_one(Input)
        assert field.selected_text == studio.session.project.shots[0].detail  # typing replaces it
        hint = str(app.screen.query_one(".dialog-hint").render())
        assert "ctrl+u" in hint and "ctrl+z" in hint and "ctrl+a" in hint
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the keys")
        listed = [keys for keys, _, _ in app.screen.rows]
        for keys in ("tab / shift+tab", "ctrl+z / ctrl+y", "ctrl+u / ctrl+k", "escape"):
            assert keys in listed
