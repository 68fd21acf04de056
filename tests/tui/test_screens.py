"""Pilot tests around the studio: locked projects, small terminals, keys, palette, projects screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.geometry import Region
from textual.widgets import Input, TextArea

from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.screens.dialogs import ConfirmDialog, LockedDialog, PromptDialog
from s2v_tui.tui.screens.help import HelpScreen
from s2v_tui.tui.screens.projects import ProjectsScreen
from s2v_tui.tui.screens.studio import PANES, StudioScreen
from tests.conftest import STORY_EN
from tests.tui.conftest import create_from_story, open_studio, run_job, studio_app, studio_settings, wait_until


async def test_a_project_locked_by_another_s2v_is_explained_and_offered_read_only(rendered_project: Path) -> None:
    other = ProjectFolder(rendered_project).lock()  # "another s2v process" holds the lock
    try:
        app = studio_app(project_dir=rendered_project)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, LockedDialog), what="the locked dialog")
            assert "open in another s2v process" in app.screen.message and "pid" in app.screen.message
            await pilot.press("r")
            studio = await open_studio(pilot)
            assert studio.session.read_only
            assert "read-only" in str(studio.query_one("#title-bar").render())
            assert studio.query_one("#script-text", TextArea).read_only
            await pilot.press("escape", "R")
            assert studio.job is None  # rendering would write: refused with a notice
            assert any("read-only" in n.message for n in app._notifications)
        assert other.locked  # we never took or broke the other process's lock
    finally:
        other.unlock()


async def test_declining_read_only_stays_on_the_projects_screen(rendered_project: Path) -> None:
    other = ProjectFolder(rendered_project).lock()
    try:
        app = studio_app(project_dir=rendered_project)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, LockedDialog), what="the locked dialog")
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ProjectsScreen) and app.session is None
    finally:
        other.unlock()


def _visible(screen: StudioScreen, selector: str) -> bool:
    widget = screen.query_one(selector)
    region = widget.region
    return widget.display and region.area > 0 and Region(0, 0, *screen.size).contains_region(region)


async def test_at_80x24_every_pane_is_reachable_and_nothing_essential_is_cut_off(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        assert not studio.has_class("-narrow")
        assert all(_visible(studio, f"#pane-{name}") for name, _ in PANES)  # wide: all six at once
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert studio.has_class("-narrow")
        for selector in ("#title-bar", "#pane-bar", "#status-line", "Footer"):
            assert _visible(studio, selector), selector
        await pilot.press("escape")
        essentials = {"script": ["#script-text", "#generate"], "shots": ["#pane-shots"],
                      "detail": ["#field-subject", "#field-camera", "#field-narration", "#prompt-preview"],
                      "preview": ["#preview-images"], "render": ["#bar-overall", "#final-info", "#play"],
                      "log": ["#log-filter", "#log-lines"]}
        for number, (name, _) in enumerate(PANES, start=1):
            await pilot.press("escape", str(number))  # escape first: in a text field a digit is text
            assert studio.active_pane == name
            for selector in essentials[name]:
                assert _visible(studio, selector), f"{selector} cut off in the {name} pane at 80x24"
            others = [other for other, _ in PANES if other != name]
            assert not any(studio.query_one(f"#pane-{other}").display for other in others)
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        assert not studio.has_class("-narrow")
        assert all(_visible(studio, f"#pane-{name}") for name, _ in PANES)


async def test_keys_can_be_remapped_by_id_and_help_lists_them(rendered_project: Path) -> None:
    settings = studio_settings(keymap={"render-all": "ctrl+r"})
    app = studio_app(settings, rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "R")
        assert studio.job is None  # the old key no longer renders
        await run_job(pilot, studio, "ctrl+r")
        assert studio.tally.job == "render"
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        keys = {binding_id: key for key, _, binding_id in app.screen.rows}
        assert keys["render-all"] == "^r" and keys["generate-storyboard"] == "g" and keys["quit"] == "^q"
        await pilot.press("escape")
        assert app.screen is studio


async def test_single_letter_keys_are_text_inside_fields(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("1", "e")  # the script pane, then into its text
        before = studio.session.project.script
        await pilot.press("g", "R", "q", "d")
        assert studio.job is None and app.is_running and isinstance(app.screen, StudioScreen)
        assert studio.session.project.script == "gRqd" + before


async def test_the_palette_runs_actions_by_name(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        app.screen.query_one(Input).value = "render: all"  # as if typed (typing key by key is slow)
        await pilot.pause(0.3)
        await run_job(pilot, studio, "enter")
        assert studio.tally.job == "render" and studio.tally.status == "done"
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        app.screen.query_one(Input).value = "backend: keyframe → offline"
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: studio.session.settings.backend_for("keyframe") == "offline",
                         what="the backend switch")
        # Notifications are plain text: the config section name survives (markup would eat "[backends]").
        await wait_until(pilot, lambda: any("set [backends] in config.toml" in n.message and not n.markup
                                            for n in app._notifications), what="a plain-text notification")


async def test_narration_too_long_for_the_reading_speed_is_flagged_inline(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        narration = studio.query_one("#field-narration", TextArea)
        warning = studio.query_one("#narration-warning")
        assert not warning.has_class("-visible")
        narration.focus()
        narration.text = "长" * 200
        await pilot.pause(0.2)
        assert warning.has_class("-visible") and "consider splitting" in str(warning.render())


async def test_insert_move_lock_and_delete_shots(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        project = studio.session.project
        count = len(project.shots)
        await pilot.press("escape", "n")
        assert len(project.shots) == count + 1 and project.shots[1].id == f"shot_{count + 1:02d}"
        await pilot.press("escape")
        await pilot.press("shift+up")
        assert project.shots[0].id == f"shot_{count + 1:02d}"
        await pilot.press("l")
        assert project.shots[0].locked
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the delete question")
        await pilot.press("y")
        await pilot.pause()
        assert len(project.shots) == count and not any(s.locked for s in project.shots)


async def test_projects_screen_creates_renames_duplicates_and_deletes(tmp_path: Path) -> None:
    story = tmp_path / "lamp.en.txt"
    story.write_text(STORY_EN, encoding="utf-8")
    app = studio_app()
    async with app.run_test(size=(120, 40)) as pilot:
        studio = await create_from_story(pilot, story)
        assert studio.session.project.title == "Lamp" and studio.session.project.language == "en"
        await pilot.press("escape", "b")
        projects = app.screen
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen) and projects.summaries,
                         what="the list")
        root = Path(app.settings.projects_dir)
        assert [p.name.startswith("lamp") for p in root.iterdir()] == [True]
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the rename prompt")
        app.screen.query_one(Input).value = "The lamp"
        await pilot.press("enter")
        await wait_until(pilot, lambda: projects.summaries and projects.summaries[0].title == "The lamp",
                         what="the rename")
        await pilot.press("c")
        await wait_until(pilot, lambda: len(projects.summaries) == 2, what="the copy")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the delete question")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(projects.summaries) == 1, what="the deletion")
        assert len(list(root.iterdir())) == 1 and tmp_path.joinpath("lamp.en.txt").is_file()


async def test_settings_apply_to_the_session_and_never_show_keys(rendered_project: Path) -> None:
    from textual.widgets import Select, Static

    from s2v_tui.tui.screens.settings import SettingsScreen

    settings = studio_settings(dashscope={"api_key": "sk-very-secret-123456"})
    app = studio_app(settings, rendered_project)
    async with app.run_test(size=(120, 40)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "s")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="the settings")
        screen = app.screen
        shown = " ".join(str(widget.render()) for widget in screen.query(Static))
        assert "sk-very-secret" not in shown and "set  (DASHSCOPE_API_KEY)" in shown
        assert "unset  (PIXVERSE_API_KEY)" in shown and "config.toml" in shown
        screen.query_one("#project-fps", Input).value = "12"
        screen.query_one("#backend-voice", Select).value = "offline"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is studio, what="the settings to close")
        assert studio.session.project.format.fps == 12
        assert studio.session.settings.backend_for("voice") == "offline"
        await wait_until(pilot, lambda: studio.plan is not None and studio.plan.final != "fresh",
                         what="the new fps to make the film stale")


async def test_settings_say_where_values_are_kept_and_save_servers_to_config_toml(
        rendered_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Select

    from s2v_tui.config import load_settings
    from s2v_tui.tui.screens.settings import SettingsScreen

    config = tmp_path / "config.toml"
    config.write_text("# hand-written\n[render]\nfps = 30\n", encoding="utf-8")
    monkeypatch.setenv("S2V_CONFIG_FILE", str(config))
    app = studio_app(studio_settings(dashscope={"api_key": "sk-very-secret-123456"}), rendered_project)
    async with app.run_test(size=(120, 40)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="the settings")
        screen = app.screen
        titles = " ".join(str(label.render()) for label in screen.query(".field-title"))
        assert "saved in its project.json" in titles and f"saved to {config}" in titles
        assert "backends — this session only" in titles
        note = str(screen.query_one("#settings-note").render())
        assert "project.json" in note and str(config) in note and "the rest lasts until you quit" in note
        screen.query_one("#server-comfy-hosts", Input).value = "http://gpu1:8188, http://gpu2:8188/"
        screen.query_one("#server-ollama-url", Input).value = "http://llm:11434"
        screen.query_one("#server-dashscope-region", Select).value = "singapore"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is studio, what="the settings to close")
        assert studio.session.settings.comfy.hosts == ["http://gpu1:8188", "http://gpu2:8188"]
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# hand-written") and "sk-very-secret" not in text and "api_key" not in text
    saved = load_settings()
    assert saved.comfy.hosts == ["http://gpu1:8188", "http://gpu2:8188"] and saved.ollama.url == "http://llm:11434"
    assert saved.dashscope.region == "singapore"


async def test_the_palette_lists_s2v_commands_first_with_their_keys(rendered_project: Path) -> None:
    from textual.command import CommandList

    settings = studio_settings(keymap={"generate-storyboard": "ctrl+g"})
    app = studio_app(settings, rendered_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_studio(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count > 10, what="the commands")
        shown = [str(commands.get_option_at_index(i).hit.prompt) for i in range(commands.option_count)]
        assert shown[0].startswith("storyboard: generate") and shown[0].endswith("^g")  # remapped key
        assert "render: all  R" in shown and "view: script pane  1" in shown
        themes = [i for i, text in enumerate(shown) if text.startswith("app: theme")]
        assert themes and themes[0] > shown.index("render: all  R")  # Textual's entries come after s2v's
        assert not any(text in ("Quit", "Keys", "Theme") for text in shown)
