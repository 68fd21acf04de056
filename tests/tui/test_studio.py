"""Pilot tests of the studio with the deterministic fake backends: the issue's list, one test each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input

from s2v_tui.domain.shot import Stage
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.widgets.shot_list import ShotList
from tests.tui.conftest import open_studio, run_job, studio_app, studio_settings, wait_until


def saved(path: Path) -> dict:
    return json.loads((path / "project.json").read_text(encoding="utf-8"))


def assets(path: Path) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(shot, stage) → (asset path, sha256, file mtime) for every built asset, as stored on disk."""
    found = {}
    for shot in saved(path)["shots"]:
        for stage, state in shot["stages"].items():
            if state["asset"]:
                rel = state["asset"]["path"]
                found[(shot["id"], stage)] = (rel, state["asset"]["sha256"], (path / rel).stat().st_mtime_ns)
    return found


async def test_generate_storyboard_makes_shots_and_saves_them(fresh_project: Path) -> None:
    app = studio_app(project_dir=fresh_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape")  # leave the script editor: letters are text there
        await run_job(pilot, studio, "g")
        shots = studio.session.project.shots
        assert len(shots) >= 2
        assert [row.shot_id for row in studio.query_one(ShotList).rows_shown] == [s.id for s in shots]
        await wait_until(pilot, lambda: len(saved(fresh_project)["shots"]) == len(shots), what="autosave")


async def test_regenerating_asks_first_and_keeps_locked_shots(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "l")  # lock shot 1
        locked = studio.session.project.shots[0].model_copy(deep=True)
        await pilot.press("g")
        await pilot.pause()
        assert "Regenerate the storyboard" in str(app.screen.query_one(".dialog-question").render())
        await run_job(pilot, studio, "y")
        assert studio.session.project.shots[0].subject == locked.subject
        assert studio.session.project.shots[0].locked


async def test_editing_a_shot_changes_the_project_and_autosaves_within_a_second(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await wait_until(pilot, lambda: studio.plan is not None, what="the first plan")
        subject = studio.query_one("#field-subject", Input)
        subject.focus()
        await pilot.press("end", *"X", "g")  # "g" is text here, not "generate storyboard"
        assert studio.job is None
        shot_id = studio.session.project.shots[0].id
        assert studio.session.project.shot(shot_id).subject.endswith("Xg")
        await pilot.pause(1.0)
        assert saved(rendered_project)["shots"][0]["subject"].endswith("Xg")
        # the keyframe was made from the old subject: the list now says so
        await wait_until(pilot, lambda: studio.query_one(ShotList).rows_shown[0].statuses["keyframe"] == "stale",
                         what="keyframe marked stale")


async def test_regenerate_one_keyframe_rebuilds_only_that_shot(rendered_project: Path) -> None:
    before = assets(rendered_project)
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("escape", "down")
        target = studio.query_one(ShotList).selected_shot
        assert target == "shot_02"
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the detail prompt")
        app.screen.query_one(Input).value = "一只白色的海鸥飞过灯塔"
        await run_job(pilot, studio, "enter")
        assert studio.tally.status == "done"
    after = assets(rendered_project)
    for key, old in before.items():
        shot, stage = key
        if shot == target and stage in ("keyframe", "clip", "segment"):
            assert after[key][0] != old[0], f"{key} was not rebuilt"  # new inputs → new content address
            if stage != "clip":  # the fake clip is a motion plan: same camera, same bytes
                assert after[key][1] != old[1], f"{key} has the old content"
        else:
            assert after[key] == old, f"{key} changed although only {target} was regenerated"
    assert saved(rendered_project)["shots"][1]["detail"] == "一只白色的海鸥飞过灯塔"


async def test_render_all_writes_the_final_video_and_shows_it(storyboarded_project: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # over SSH: no player, so "play" prints the path
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = studio_app(project_dir=storyboarded_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await run_job(pilot, studio, "R")
        assert studio.tally.status == "done"
        assert (storyboarded_project / "output" / "final.mp4").is_file()
        await wait_until(pilot, lambda: "output/final.mp4" in str(studio.query_one("#final-info").render()),
                         what="the final file in the render pane")
        rows = studio.query_one(ShotList).rows_shown
        assert all(status == "done" for row in rows for status in row.statuses.values())
        preview = studio.query_one("#preview-images")
        await wait_until(pilot, lambda: len(preview.children) == 3, what="keyframe + clip first/last frames")
        film = str(storyboarded_project / "output" / "final.mp4")
        await pilot.press("p")
        await wait_until(pilot, lambda: app.clipboard == film, what="the path of the film")
        app.copy_to_clipboard("")
        await pilot.click("#play")  # the render pane's button does what the key does
        await wait_until(pilot, lambda: app.clipboard == film, what="the path of the film, from the Play button")


async def test_escape_cancels_a_render_cleanly(storyboarded_project: Path) -> None:
    project_dir = storyboarded_project
    app = studio_app(studio_settings(fake={"latency": 0.6}), project_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: any(s.startswith("running") for s in studio.live.values()),
                         what="a stage to run")
        subject = studio.query_one("#field-subject", Input)
        assert subject.disabled  # the engine owns the project until the job ends
        await pilot.press("escape")
        await wait_until(pilot, lambda: studio.job is None, what="the cancelled job to end")
        assert studio.tally.status == "cancelled"
        assert app.is_running and not subject.disabled  # the app survives, editing is back
        data = saved(project_dir)
        assert all(state["status"] != "running" for shot in data["shots"] for state in shot["stages"].values())
    folder = ProjectFolder(project_dir).lock()  # the lock was released and the file loads
    try:
        project = folder.load()
    finally:
        folder.unlock()
    assert project.shots and not (project_dir / "output" / "final.mp4").exists()


async def test_a_backend_error_is_a_notification_and_a_log_line_not_a_crash(storyboarded_project: Path) -> None:
    app = studio_app(studio_settings(fake={"fail": ["shot_02:keyframe"]}), storyboarded_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await run_job(pilot, studio, "R")
        assert app.is_running and studio.tally.status == "partial"  # the other shots still finished
        rows = {row.shot_id: row for row in studio.query_one(ShotList).rows_shown}
        assert rows["shot_02"].statuses["keyframe"] == "failed"
        log = studio.query_one("ProgressLog")
        assert log.last_error and "remove it from [fake] fail" in log.last_error  # the hint says what to do
        assert any(n.severity == "error" for n in app._notifications)
        await pilot.press("c")  # copy the error: must not fail without a clipboard
        assert studio.session.project.shot("shot_02").stages[Stage.KEYFRAME].status.value == "failed"
        await pilot.press("slash")
        assert app.focused is log.query_one("#log-filter")
        log.set_mode("errors")
        await pilot.pause()
        shown = [entry for entry in log.entries if log._matches(entry)]
        assert shown and all(entry.level == "error" for entry in shown)
        assert len(shown) < len(log.entries)


async def test_quitting_during_a_render_asks_then_stops_it_cleanly(storyboarded_project: Path) -> None:
    from s2v_tui.tui.screens.dialogs import ConfirmDialog

    # A fake slow enough that the render outlives the question on a loaded machine.
    app = studio_app(studio_settings(fake={"latency": 2.0}), storyboarded_project)
    async with app.run_test(size=(120, 40)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: studio.live, what="a stage to run")
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        assert studio.job is not None and app.is_running  # nothing stops before the answer
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, what="the app to exit")
    assert app.return_code == 0
    data = saved(storyboarded_project)
    assert all(state["status"] != "running" for shot in data["shots"] for state in shot["stages"].values())
    ProjectFolder(storyboarded_project).lock().unlock()  # saved and unlocked
