"""One clear message per problem: a missing key stops a run before it starts (once, with the fix and
the alternative), picking a keyless backend warns at once, repeated failures share one toast."""

from __future__ import annotations

from pathlib import Path

from s2v_tui.domain.events import ErrorInfo, StageFailed
from s2v_tui.tui.messages import EngineEvent
from tests.tui.conftest import open_studio, studio_app, studio_settings, wait_until


def keyless_keyframe() -> object:
    settings = studio_settings()
    return settings.model_copy(update={"backends": settings.backends.model_copy(update={"keyframe": "dashscope"})})


async def test_a_missing_key_is_one_message_before_the_run_with_the_fix_and_the_alternative(
        storyboarded_project: Path) -> None:
    app = studio_app(keyless_keyframe(), storyboarded_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        await wait_until(pilot, lambda: studio.plan is not None, what="the plan")
        app.clear_notifications()
        await pilot.press("R")
        await pilot.pause(0.5)
        assert studio.job is None and studio.tally.status == "not started"  # nothing ran, nothing failed
        [toast] = list(app._notifications)
        assert toast.severity == "error" and "DASHSCOPE_API_KEY" in toast.message
        assert "ctrl+p → backend: keyframe → offline" in toast.message
        status = str(studio.query_one("#run-status").render())
        assert "not started" in status and "DASHSCOPE_API_KEY" in status
        assert "DASHSCOPE_API_KEY is not set" in str(studio.query_one("#status-line").render())
        shots = studio.session.project.shots
        assert all(s.stages["keyframe"].status.value != "failed" for s in shots)
        await pilot.press("down", "r")  # regenerating one shot's keyframe is refused the same way, at once
        await pilot.pause(0.3)
        assert studio.job is None and len(app._notifications) == 1
        assert shots[1].variants.get("keyframe", 0) == 0  # nothing was changed for a run that never started


async def test_picking_a_backend_without_its_key_warns_at_once(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        app.clear_notifications()
        app.switch_backend("keyframe", "dashscope")
        await wait_until(pilot, lambda: studio.session.settings.backend_for("keyframe") == "dashscope",
                         what="the switch")
        await wait_until(pilot, lambda: app._notifications, what="the warning")
        [toast] = list(app._notifications)
        assert toast.severity == "warning" and "DASHSCOPE_API_KEY" in toast.message
        assert "backend: keyframe → offline" in toast.message
        await pilot.press("R")  # the refusal replaces the warning: still one toast for one problem
        await pilot.pause(0.3)
        [toast] = list(app._notifications)
        assert toast.severity == "error" and "DASHSCOPE_API_KEY" in toast.message and studio.job is None


async def test_the_same_failure_of_many_shots_is_one_toast_that_counts_them(rendered_project: Path) -> None:
    app = studio_app(project_dir=rendered_project)
    async with app.run_test(size=(80, 24)) as pilot:
        studio = await open_studio(pilot)
        app.clear_notifications()
        error = ErrorInfo(code="auth", message="no DashScope API key is configured", hint="set DASHSCOPE_API_KEY")
        for shot in studio.session.project.shots:
            studio.post_message(EngineEvent(StageFailed(shot_id=shot.id, stage="keyframe", error=error), "render"))
        await pilot.pause(0.3)
        [toast] = list(app._notifications)
        assert toast.title == f"keyframe failed for {len(studio.session.project.shots)} shots"
        log = studio.query_one("ProgressLog")
        assert sum("keyframe failed" in entry.text for entry in log.entries) == len(studio.session.project.shots)
