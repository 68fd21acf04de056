"""The engine with the deterministic fake backends: events, cache invalidation, failures, retries, cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from s2v_tui.backends.base import BackendInfo, KeyframeBackend, KeyframeRequest, StageContext
from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import TransientError
from s2v_tui.domain.events import Event, LogLine, RunFinished, StageFinished, StageStarted
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Stage, StageStatus
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine
from s2v_tui.engine.plan import make_plan
from s2v_tui.media.probe import probe
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import fake_backends, make_settings, new_project


async def render(folder: ProjectFolder, settings: Settings, project: Project, **kwargs: object) -> list[Event]:
    engine = Engine(folder, settings)
    events = [event async for event in engine.run(project, **kwargs)]  # type: ignore[arg-type]
    await engine.aclose()
    return events


def finished(events: list[Event]) -> RunFinished:
    [last] = [e for e in events if isinstance(e, RunFinished)]
    assert events[-1] is last
    return last


def rebuilt(events: list[Event]) -> set[tuple[str | None, str]]:
    return {(e.shot_id, e.stage) for e in events if isinstance(e, StageStarted) and e.stage != "storyboard"}


async def test_full_render_makes_a_probeable_film(folder: ProjectFolder, settings: Settings) -> None:
    project = new_project()
    events = await render(folder, settings, project)
    summary = finished(events)
    assert summary.status == "done", summary.failures
    assert summary.built == {"keyframe": 3, "voice": 3, "clip": 3, "segment": 3, "final": 1}
    info = probe(Path(summary.final_path or ""))
    assert len(info.video) == 1 and len(info.audio) == 1
    assert (info.video[0].width, info.video[0].height, info.video[0].fps) == (160, 288, 10)
    segments = [shot.stages[Stage.SEGMENT].asset for shot in project.shots]
    assert info.video[0].frames == sum(s.meta["frames"] for s in segments if s)
    assert abs(info.duration - sum(s.meta["duration"] for s in segments if s)) < 0.1
    reloaded = folder.load()
    assert all(state.status == StageStatus.DONE for shot in reloaded.shots for state in shot.stages.values())
    assert not (folder.assets_dir / ".work").exists() or not any((folder.assets_dir / ".work").iterdir())


async def test_second_run_reuses_everything(folder: ProjectFolder, settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    events = await render(folder, settings, folder.load())
    summary = finished(events)
    assert summary.built == {} and summary.cached["segment"] == 3 and summary.cached["final"] == 1
    assert rebuilt(events) == set()


async def test_editing_one_detail_rebuilds_exactly_that_shot_and_the_final(folder: ProjectFolder,
                                                                           settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    project = folder.load()
    project.shots[1].detail += "，画面里多了一只猫"
    shot_id = project.shots[1].id
    plan = make_plan(project, folder, settings, BackendSet.from_settings(settings))
    assert plan.shots[shot_id]["keyframe"] == "stale" and plan.shots[shot_id]["voice"] == "fresh"
    sound = project.render.audio
    events = await render(folder, settings, project)
    assert rebuilt(events) == {(shot_id, "keyframe"), (shot_id, "clip"), (shot_id, "segment"), (None, "final")}
    assert finished(events).built == {"keyframe": 1, "clip": 1, "segment": 1, "final": 1}
    # Same narration → same sound track: the join only copied streams.
    assert sound is not None and project.render.audio == sound
    assert any(isinstance(e, LogLine) and "sound track unchanged" in e.message for e in events)


async def test_editing_narration_rebuilds_voice_clip_segment_but_not_keyframe(folder: ProjectFolder,
                                                                              settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    project = folder.load()
    sound = project.render.audio
    project.shots[0].narration = "完全不同的一句旁白，而且更长一些。"
    events = await render(folder, settings, project)
    shot_id = project.shots[0].id
    assert rebuilt(events) == {(shot_id, "voice"), (shot_id, "clip"), (shot_id, "segment"), (None, "final")}
    new_sound = project.render.audio
    assert sound is not None and new_sound is not None and new_sound.input_hash != sound.input_hash
    assert folder.asset_ok(new_sound.path, new_sound.sha256) and not folder.resolve(sound.path).exists()
    assert abs(probe(folder.resolve(new_sound.path)).duration - (project.render.duration or 0)) < 0.1


async def test_a_corrupted_asset_is_rebuilt(folder: ProjectFolder, settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    keyframe = project.shots[2].stages[Stage.KEYFRAME].asset
    assert keyframe is not None
    folder.resolve(keyframe.path).write_bytes(b"not a png any more")
    events = await render(folder, settings, folder.load())
    assert (project.shots[2].id, "keyframe") in rebuilt(events)
    assert finished(events).status == "done"


async def test_one_failing_shot_never_stops_its_siblings(folder: ProjectFolder) -> None:
    settings = make_settings(backends=fake_backends(), fake={"fail": ["shot_02:keyframe"]})
    project = new_project()
    events = await render(folder, settings, project)
    summary = finished(events)
    assert summary.status == "partial" and summary.final_path is None
    assert [(f.shot_id, f.stage) for f in summary.failures] == [("shot_02", "keyframe")]
    assert "remove it from [fake] fail" in (summary.failures[0].error.hint or "")
    assert summary.built["segment"] == 2
    saved = folder.load()
    assert saved.shots[1].stages[Stage.KEYFRAME].status == StageStatus.FAILED
    assert "fake keyframe failure" in (saved.shots[1].stages[Stage.KEYFRAME].error or "")
    # Fixed: the next run builds only what is missing, then the film.
    fixed = await render(folder, make_settings(backends=fake_backends()), saved)
    assert rebuilt(fixed) == {("shot_02", s) for s in ("keyframe", "clip", "segment")} | {(None, "final")}


async def test_allow_partial_joins_the_shots_that_worked(folder: ProjectFolder) -> None:
    settings = make_settings(backends=fake_backends(), fake={"fail": ["shot_01:voice"]},
                             render={"allow_partial": True})
    summary = finished(await render(folder, settings, new_project()))
    assert summary.status == "partial" and summary.final_path and Path(summary.final_path).is_file()


class FlakyKeyframe(KeyframeBackend):
    """Fails twice with a transient error, then paints (proves the engine's retry path)."""

    info = BackendInfo(name="flaky", lane="test")

    def __init__(self) -> None:
        self.calls = 0

    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise TransientError("HTTP 503 from the test", retry_after=0.01)
        from PIL import Image

        Image.new("RGB", (request.width, request.height), "green").save(out, "PNG")


async def test_transient_errors_are_retried_with_backoff(folder: ProjectFolder, settings: Settings) -> None:
    backends = BackendSet.from_settings(settings)
    backends.keyframe = FlakyKeyframe()
    project = new_project(script="只有一句话。")
    engine = Engine(folder, settings, backends)
    events = [e async for e in engine.run(project)]
    assert finished(events).status == "done"
    assert backends.keyframe.calls == 3  # type: ignore[attr-defined]
    assert sum(isinstance(e, LogLine) and "retrying" in e.message for e in events) == 2


async def test_cancel_stops_cleanly_and_the_project_stays_resumable(folder: ProjectFolder) -> None:
    settings = make_settings(backends=fake_backends(), fake={"latency": 0.6})
    project = new_project()
    token = CancelToken()
    engine = Engine(folder, settings)
    events: list[Event] = []
    async for event in engine.run(project, cancel=token):
        events.append(event)
        if isinstance(event, StageFinished) and event.stage == "keyframe":
            token.cancel()
    assert finished(events).status == "cancelled"
    saved = folder.load()
    assert not any(s.status == StageStatus.RUNNING for shot in saved.shots for s in shot.stages.values())
    assert not list((folder.assets_dir / ".work").glob("*"))
    assert not list(folder.path.rglob("*.tmp"))
    done_before = {(e.shot_id, e.stage) for e in events if isinstance(e, StageFinished) and not e.cached}
    again = await render(folder, make_settings(backends=fake_backends()), saved)
    assert finished(again).status == "done"
    assert not done_before & rebuilt(again)  # finished work is never redone


async def test_cancelling_the_consumer_task_also_stops_the_engine(folder: ProjectFolder) -> None:
    settings = make_settings(backends={**fake_backends(), "storyboard": "offline"}, fake={"latency": 2.0})
    engine = Engine(folder, settings)
    started: list[Event] = []

    async def consume() -> None:
        async for event in engine.run(new_project()):
            started.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any(isinstance(e, StageStarted) and e.stage == "keyframe" for e in started)
    assert not any(s.status == StageStatus.RUNNING for shot in folder.load().shots for s in shot.stages.values())


async def test_regenerating_the_storyboard_keeps_locked_shots(folder: ProjectFolder, settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    project.shots[1].locked = True
    project.shots[1].narration = "我自己写的旁白。"
    kept = project.shots[1].model_copy(deep=True)
    project.script = "全新的故事第一句。第二句。第三句。第四句。"
    await render(folder, settings, project, storyboard="regenerate")
    assert project.shots[1].narration == kept.narration and project.shots[1].id == kept.id
    assert project.shots[0].narration == "全新的故事第一句。"
    assert [s.sequence for s in project.shots] == list(range(1, len(project.shots) + 1))


async def test_a_project_without_script_or_shots_fails_with_a_clear_message(folder: ProjectFolder,
                                                                           settings: Settings) -> None:
    project = new_project(script="   ")
    summary = finished(await render(folder, settings, project))
    assert summary.status == "failed"
    assert summary.failures[0].stage == "storyboard" and "no script" in summary.failures[0].error.message


async def test_a_film_older_than_a_rebuilt_shot_is_marked_stale(folder: ProjectFolder, settings: Settings) -> None:
    project = new_project()
    await render(folder, settings, project)
    assert project.render.state.status == StageStatus.DONE
    project.shots[0].detail += "（改）"
    await render(folder, settings, project, shots=[project.shots[0].id])  # one shot, no join
    assert folder.load().render.state.status == StageStatus.STALE
    await render(folder, settings, project)
    assert folder.load().render.state.status == StageStatus.DONE
