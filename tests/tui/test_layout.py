"""Layout at 60×20, 80×24 and 160×48: columns sized to content and width, a footer that never garbles,
and below the minimum size a message instead of a broken screen."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from textual.widgets._footer import FooterKey

from s2v_tui.tui.screens.projects import ProjectsScreen
from s2v_tui.tui.shot_columns import layout
from s2v_tui.tui.shot_rows import ShotRow
from tests.tui.conftest import open_studio, studio_app, studio_settings, wait_until, write_project

CAMERAS = ["horizontal truck", "full 360 orbit", "push in"]


def rows() -> list[ShotRow]:
    return [ShotRow(f"shot_{n:02d}", n, "the keeper climbs the stairs", camera, "12.5", False)
            for n, camera in enumerate(CAMERAS * 4, start=1)]


def test_columns_size_to_their_content_and_give_way_in_order() -> None:
    wide = layout(rows(), 107)  # the shot list's width at 160×48
    assert wide.camera == len("horizontal truck") and wide.subject >= len("the keeper climbs the stairs")
    assert wide.used == 107
    narrow = layout(rows(), 58)  # 60×20, one pane at a time
    assert narrow.used <= 58 and narrow.subject >= 10 and narrow.camera >= 8
    tight = layout(rows(), 50)
    assert tight.used <= 50 and tight.compact  # statuses become glyphs before anything is dropped


async def test_the_shot_list_shows_every_column_at_60x20_and_whole_cameras_at_160x48(
        rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        shot_list = studio.query_one("ShotList")
        cameras = [row.camera for row in shot_list.rows_shown]
        lines = [shot_list.render_line(y).text for y in range(1, len(cameras) + 1)]
        assert all(camera in line for camera, line in zip(cameras, lines, strict=True))  # nothing cut
        await pilot.resize_terminal(60, 20)
        await pilot.pause(0.3)
        header = shot_list.render_line(0).text
        assert header.split() == ["#", "subject", "camera", "len", "key", "voice", "clip", "seg", "L"]
        assert cell_len(header.rstrip()) <= shot_list.size.width


async def test_the_footer_keys_fit_without_overlapping_at_60x20(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(60, 20)) as pilot:
        studio = await open_studio(pilot)
        await pilot.pause(0.3)
        keys = sorted(studio.query_one("Footer").query(FooterKey), key=lambda key: key.region.x)
        assert any(key.key_display == "?" for key in keys) and keys[-1].has_class("-command-palette")
        for left, right in zip(keys, keys[1:], strict=False):
            assert left.region.right <= right.region.x, (left.description, right.description)
        assert keys[-1].region.right <= 60


async def test_the_projects_screen_fits_80x24(tmp_path: Path) -> None:
    for name in ("the-last-lighthouse-keeper-20261202-005114", "lantern"):
        write_project(tmp_path / "projects" / name, project_id=name.split("-2")[0])
    app = studio_app(studio_settings(projects_dir=str(tmp_path / "projects")))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen) and app.screen.summaries,
                         what="the list")
        await pilot.pause(0.2)
        table = app.screen.query_one("#projects")
        assert table.virtual_size.width <= table.size.width  # no sideways scrollbar (the stray ▍)
        hints = str(app.screen.query_one("#status-line").render())
        assert hints.endswith("d delete") and cell_len(hints) <= 78


async def test_below_the_minimum_size_the_studio_says_so(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        await pilot.resize_terminal(50, 15)
        await pilot.pause(0.3)
        message = studio.query_one("TooSmall")
        assert message.display and "at least 60×20" in str(message.render()) and "50×15" in str(message.render())
        assert not studio.query_one("#panes").display and not studio.query_one("#status-line").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert not message.display and studio.query_one("#panes").display
