"""Progress that tells the truth: the overall bar and ETA weigh each stage by its cost, the render pane
never describes the state before a running job, a reopened built project shows as built, and a film
older than its shots is marked stale (in the pane and in the projects list)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from textual.widgets import Input

from s2v_tui.domain.events import RunStarted, StageFinished, StageStarted
from s2v_tui.tui.messages import EngineEvent
from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.screens.projects import ProjectsScreen
from s2v_tui.tui.tally import RunTally
from tests.tui.conftest import open_studio, run_job, studio_app, studio_settings, wait_until

SHOTS = [f"shot_{n:02d}" for n in range(1, 11)]


def render_events(segments_done: int) -> list[object]:
    """A ten-shot render: keyframes, voices and clips quick (0.1 s each), `segments_done` slow segments (1 s)."""
    events: list[object] = [RunStarted(project_id="p", project_dir="/p", shots=10,
                                       to_build={"keyframe": 10, "voice": 10, "clip": 10, "segment": 10, "final": 1})]
    for stage in ("keyframe", "voice", "clip"):
        events += [StageFinished(shot_id=shot, stage=stage, seconds=0.1) for shot in SHOTS]
    events += [StageFinished(shot_id=shot, stage="segment", seconds=1.0) for shot in SHOTS[:segments_done]]
    events.append(StageStarted(shot_id=SHOTS[segments_done], stage="segment", backend="ffmpeg"))
    return events


def test_the_overall_fraction_weighs_stages_by_what_they_cost() -> None:
    tally = RunTally("render")
    for event in render_events(segments_done=1):
        tally.apply(event)  # type: ignore[arg-type]
    assert tally.progress / tally.total > 0.75  # 31 of 41 items: what the bar used to say
    assert 0.25 < tally.fraction < 0.35  # but 9 of ~13 seconds of work are still ahead
    assert tally.eta(elapsed=4.0) > 7.0
    cached = RunTally("render")
    cached.apply(RunStarted(project_id="p", project_dir="/p", shots=1, to_build={}, cached={"keyframe": 1}))
    cached.apply(StageFinished(shot_id="shot_01", stage="keyframe", cached=True))
    assert cached.fraction == 1 / 5  # nothing to build: items are all there is to count


async def test_the_status_line_and_overall_bar_follow_the_weighted_work(storyboarded_project: Path) -> None:
    app = studio_app(project_dir=storyboarded_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        studio.job, studio.tally, studio.job_started = "render", RunTally("render"), time.monotonic() - 4.0
        for event in render_events(segments_done=1):
            studio.post_message(EngineEvent(event, "render"))  # type: ignore[arg-type]
        await pilot.pause(0.5)
        status = str(studio.query_one("#status-line").render())
        percent = int(status.split(":")[1].split("%")[0])
        assert 25 <= percent <= 35, status
        assert studio.query_one("#bar-overall").percentage < 0.4
        studio.job = None  # the fake job never ends; let the app close


async def test_while_a_render_runs_the_pane_does_not_describe_the_project_before_it(
        rendered_project: Path) -> None:
    app = studio_app(studio_settings(fake={"latency": 0.3}), rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await wait_until(pilot, lambda: "final: output/final.mp4" in str(studio.query_one("#final-info").render()),
                         what="the film")
        studio.session.update_project(style="水彩插画")  # every keyframe is stale: a long render
        await pilot.press("R")
        await wait_until(pilot, lambda: studio.live, what="a stage to run")
        await pilot.pause(0.3)
        final = str(studio.query_one("#final-info").render())
        plan = str(studio.query_one("#plan-summary").render())
        assert "press R" not in final and "made at the end of this render" in final
        assert "next render" not in plan and "this run builds keyframe" in plan
        await pilot.press("escape")
        await wait_until(pilot, lambda: studio.job is None, what="the cancelled render to end")


async def test_a_reopened_built_project_shows_as_built_not_idle_at_zero(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await wait_until(pilot, lambda: studio.plan is not None, what="the plan")
        await pilot.pause(0.3)
        assert studio.query_one("#bar-overall").percentage == 1.0
        shots = len(studio.session.project.shots)
        for stage in ("keyframe", "voice", "clip", "segment"):
            assert str(studio.query_one(f"#count-{stage}").render()) == f"{shots}/{shots} up to date"
            assert studio.query_one(f"#bar-{stage}").percentage == 1.0


async def test_regenerating_a_shot_marks_the_film_stale_in_the_pane_and_the_projects_list(
        rendered_project: Path) -> None:
    app = studio_app(studio_settings(projects_dir=str(rendered_project.parent)), rendered_project)
    async with app.run_test(size=(160, 48)) as pilot:
        studio = await open_studio(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog), what="the detail prompt")
        app.screen.query_one(Input).value = "一只白色的海鸥飞过灯塔"  # (the fake painter ignores variants)
        await run_job(pilot, studio, "enter")
        await wait_until(pilot, lambda: "out of date" in str(studio.query_one("#final-info").render()),
                         what="the film marked out of date")
        await wait_until(pilot, lambda: json.loads((rendered_project / "project.json").read_text())
                         ["render"]["state"]["status"] == "stale", what="the stale film saved")
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen) and app.screen.summaries,
                         what="the projects list")
        assert app.screen.summaries[0].status == "stale"
