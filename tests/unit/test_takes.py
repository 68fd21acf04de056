"""Takes: regenerating keeps what it replaces, choosing a take rebuilds only what depends on it through the
cache, a cap prunes the oldest unchosen takes, a choice survives a backend switch but not an edit, and a
schema-1 project opens with its assets as take 1 without being written."""

from __future__ import annotations

import json
from pathlib import Path

from s2v_tui.backends.registry import BackendSet
from s2v_tui.domain.events import StageFinished
from s2v_tui.domain.project import SCHEMA_VERSION
from s2v_tui.domain.shot import Asset, Stage, StageState
from s2v_tui.domain.takes import add_take, regenerate
from s2v_tui.engine.plan import make_plan
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.storage.records import record_relpath
from s2v_tui.workspace.takes import choose_take, list_takes
from tests.conftest import fake_backends, make_settings, new_project
from tests.unit.test_engine import finished, rebuilt, render


def painted(**overrides: object):  # type: ignore[no-untyped-def]
    """Fake backends but offline keyframes: the fake paints the same picture whatever the seed."""
    return make_settings(backends={**fake_backends(), "keyframe": "offline"}, **overrides)


def _asset(n: int) -> Asset:
    return Asset(path=f"assets/shot_01/keyframe-{n:016d}.png", sha256="0" * 64, media_type="image/png",
                 backend="fake", input_hash=f"{n:064d}")


def test_the_cap_prunes_the_oldest_takes_but_never_the_chosen_one() -> None:
    state = StageState()
    for n in (1, 2, 3):
        add_take(state, _asset(n), None, keep=5)
    state.asset = state.takes[0].asset  # the user went back to take 1
    pruned = add_take(state, _asset(1), None, keep=2)  # re-adding the same file makes no new take
    assert [t.number for t in pruned] == [2]
    assert [t.number for t in state.takes] == [1, 3] and state.asset.path == _asset(1).path
    pruned = add_take(state, _asset(4), "很长的提示" * 2000, keep=2)  # a prompt longer than a take keeps
    assert [t.number for t in pruned] == [1] and [t.number for t in state.takes] == [3, 4]
    assert len(state.takes[-1].prompt) == 4000


async def test_regenerating_keeps_the_previous_keyframe_and_choosing_it_rebuilds_only_segment_and_film(
        folder: ProjectFolder) -> None:
    settings = painted()
    project = new_project()
    await render(folder, settings, project)
    shot = project.shots[1]
    first_keyframe, first_clip = shot.stages[Stage.KEYFRAME].asset, shot.stages[Stage.CLIP].asset
    regenerate(shot, Stage.KEYFRAME)
    events = await render(folder, settings, project)
    assert rebuilt(events) == {(shot.id, "keyframe"), (shot.id, "clip"), (shot.id, "segment"), (None, "final")}
    project = folder.load()
    shot = project.shots[1]
    keyframes = shot.stages[Stage.KEYFRAME]
    assert [t.number for t in keyframes.takes] == [1, 2] and keyframes.asset == keyframes.takes[1].asset
    assert keyframes.takes[0].asset.path == first_keyframe.path and folder.resolve(first_keyframe.path).is_file()
    assert keyframes.takes[1].prompt and [t.number for t in shot.stages[Stage.CLIP].takes] == [1, 2]
    assert folder.resolve(record_relpath(shot.id, "keyframe", first_keyframe.input_hash)).is_file()

    choose_take(folder, project, shot.id, "keyframe", 1)
    folder.save(project)
    plan = make_plan(project, folder, settings, BackendSet.from_settings(settings))
    assert plan.shots[shot.id] == {"keyframe": "fresh", "voice": "fresh", "clip": "fresh", "segment": "stale"}
    events = await render(folder, settings, project)
    assert rebuilt(events) == {(shot.id, "segment"), (None, "final")}
    assert finished(events).built == {"segment": 1, "final": 1}
    cached = {(e.shot_id, e.stage) for e in events if isinstance(e, StageFinished) and e.cached}
    assert {(shot.id, "keyframe"), (shot.id, "clip")} <= cached
    reloaded = folder.load().shots[1]
    assert reloaded.stages[Stage.KEYFRAME].asset.path == first_keyframe.path
    assert reloaded.stages[Stage.CLIP].asset.path == first_clip.path  # the clip made from it, found in its takes
    rows = list_takes(folder.load(), shot.id, "keyframe")
    assert [(r.number, r.chosen, r.pinned) for r in rows] == [(1, True, True), (2, False, False)]


async def test_the_cap_deletes_pruned_files_and_records(folder: ProjectFolder) -> None:
    settings = painted(takes={"keep": 2})
    project = new_project()
    await render(folder, settings, project, shots=["shot_01"], final=False)
    paths = [project.shots[0].stages[Stage.KEYFRAME].asset]
    for _ in range(3):
        regenerate(project.shots[0], Stage.KEYFRAME)
        await render(folder, settings, project, shots=["shot_01"], final=False)
        paths.append(project.shots[0].stages[Stage.KEYFRAME].asset)
    state = folder.load().shots[0].stages[Stage.KEYFRAME]
    assert [t.number for t in state.takes] == [3, 4]
    for gone in paths[:2]:
        assert not folder.resolve(gone.path).exists()
        assert not folder.resolve(record_relpath("shot_01", "keyframe", gone.input_hash)).exists()
    assert all(folder.resolve(kept.path).is_file() for kept in paths[2:])


async def test_a_chosen_take_survives_a_backend_switch_but_an_edit_of_its_detail_ends_the_choice(
        folder: ProjectFolder) -> None:
    settings = painted()
    project = new_project()
    await render(folder, settings, project, shots=["shot_01"], final=False)
    regenerate(project.shots[0], Stage.KEYFRAME)
    await render(folder, settings, project, shots=["shot_01"], final=False)
    choose_take(folder, project, "shot_01", "keyframe", 1)
    switched = make_settings(backends=fake_backends())
    events = await render(folder, switched, project, shots=["shot_01"], final=False)
    assert (("shot_01", "keyframe")) not in rebuilt(events)
    assert project.shots[0].stages[Stage.KEYFRAME].pin is not None
    project.shots[0].detail += "，远处有一座灯塔"
    events = await render(folder, switched, project, shots=["shot_01"], final=False)
    assert ("shot_01", "keyframe") in rebuilt(events)
    state = project.shots[0].stages[Stage.KEYFRAME]
    assert state.pin is None and state.asset.backend == "fake" and [t.number for t in state.takes] == [1, 2, 3]


async def test_a_schema_1_project_opens_with_its_assets_as_take_1_and_loading_writes_nothing(
        folder: ProjectFolder, settings) -> None:  # type: ignore[no-untyped-def]
    project = new_project()
    await render(folder, settings, project)
    data = json.loads(folder.json_path.read_text())
    data["schema_version"] = 1
    for shot in data["shots"]:
        for state in shot["stages"].values():
            state.pop("takes")
            state.pop("pin")
    folder.json_path.write_text(json.dumps(data))
    before = folder.json_path.stat().st_mtime_ns, folder.json_path.read_bytes()
    loaded = folder.load()
    assert (folder.json_path.stat().st_mtime_ns, folder.json_path.read_bytes()) == before
    assert loaded.schema_version == SCHEMA_VERSION
    for shot in loaded.shots:
        for stage in (Stage.KEYFRAME, Stage.VOICE, Stage.CLIP):
            state = shot.stages[stage]
            assert [t.number for t in state.takes] == [1] and state.takes[0].asset == state.asset
        assert shot.stages[Stage.SEGMENT].takes == []
    events = await render(folder, settings, loaded)
    assert rebuilt(events) == set()  # the migrated project is the same film
    assert json.loads(Path(folder.json_path).read_text())["schema_version"] == SCHEMA_VERSION


def test_a_new_storyboard_ends_the_choices_of_the_shots_it_replaces_but_not_of_locked_ones() -> None:
    from s2v_tui.backends.base import ShotDraft
    from s2v_tui.domain.shot import Pin, Shot
    from s2v_tui.engine.storyboard import apply_drafts

    project = new_project()
    project.shots = [Shot(id=f"shot_0{n}", sequence=n, narration="旧的旁白。", locked=n == 2) for n in (1, 2)]
    for shot in project.shots:
        add_take(shot.stages[Stage.VOICE], _asset(shot.sequence), "mine.wav", keep=5)
        shot.stages[Stage.VOICE].pin = Pin(key=None)
    draft = ShotDraft(subject="新", detail="新的画面", narration="新的旁白。", camera="镜头推进")
    apply_drafts(project, [draft, draft])
    replaced, locked = project.shots[0].stages[Stage.VOICE], project.shots[1].stages[Stage.VOICE]
    assert replaced.pin is None and len(replaced.takes) == 1  # its take stays, to reuse if it matches
    assert locked.pin is not None
