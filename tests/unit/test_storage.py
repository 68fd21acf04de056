"""Project store: atomic writes, lock, corrupt files, backups, traversal, migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s2v_tui.domain.errors import BadInputError, ProjectCorruptError, ProjectLockedError
from s2v_tui.domain.project import SCHEMA_VERSION, Project
from s2v_tui.domain.shot import Shot
from s2v_tui.storage.atomic import atomic_output, atomic_write_bytes, sweep_temp_files
from s2v_tui.storage.migrations import migrate
from s2v_tui.storage.project_store import ProjectFolder, ProjectStore


def _project() -> Project:
    return Project(id="demo", title="Demo", script="从前有座山。", shots=[Shot(id="shot_01", sequence=1)])


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_atomic_output_removes_partial_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_sweep_removes_only_s2v_temp_files_left_by_a_killed_writer(tmp_path: Path) -> None:
    (tmp_path / ".project.json.abcd1234.tmp").write_text("partial")
    (tmp_path / ".notes.abcd1234.tmp").write_text("the user's")
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / ".project.json.abcd1234.tmp").write_text("not in the project's top folder")
    assert sweep_temp_files(tmp_path, ["project.json"]) == 1
    assert sorted(p.name for p in tmp_path.rglob("*.tmp")) == [".notes.abcd1234.tmp", ".project.json.abcd1234.tmp"]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    with ProjectFolder(tmp_path / "p") as folder:
        folder.save(_project())
        loaded = folder.load()
    assert loaded.shots[0].id == "shot_01"
    assert json.loads((tmp_path / "p" / "project.json").read_text())["schema_version"] == SCHEMA_VERSION


def test_a_second_process_cannot_write_a_locked_project(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p").lock()
    code = ("import sys; from pathlib import Path; from s2v_tui.storage.project_store import ProjectFolder;"
            "from s2v_tui.domain.errors import ProjectLockedError\n"
            "try:\n    ProjectFolder(Path(sys.argv[1])).lock(); print('locked')\n"
            "except ProjectLockedError as exc:\n    print(exc)")
    result = subprocess.run([sys.executable, "-c", code, str(folder.path)], capture_output=True, text=True, timeout=60)
    assert "another s2v process" in result.stdout and f"pid {os.getpid()}" in result.stdout
    folder.unlock()
    again = subprocess.run([sys.executable, "-c", code, str(folder.path)], capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "locked"


def test_unlocked_or_read_only_folder_refuses_to_save(tmp_path: Path) -> None:
    with pytest.raises(ProjectLockedError):
        ProjectFolder(tmp_path / "p").save(_project())


def test_corrupt_json_names_the_file_keeps_it_and_restores_the_last_good_copy(tmp_path: Path) -> None:
    with ProjectFolder(tmp_path / "p") as folder:
        folder.save(_project())
        folder.json_path.write_text('{"id": "demo", "title": ')  # a hand edit gone wrong
        with pytest.raises(ProjectCorruptError) as info:
            folder.load()
        assert str(folder.json_path) in info.value.message and "s2v restore" in (info.value.hint or "")
        assert folder.json_path.read_text() == '{"id": "demo", "title": '  # never overwritten
        kept = folder.restore_backup()
        assert kept.read_text() == '{"id": "demo", "title": '
        assert folder.load().title == "Demo"


def test_schema_invalid_project_names_the_field(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p")
    folder.path.mkdir()
    folder.json_path.write_text(json.dumps({"schema_version": 1, "id": "../evil", "title": "x"}))
    with pytest.raises(ProjectCorruptError, match="id"):
        folder.load()


def test_newer_schema_is_refused_with_upgrade_hint() -> None:
    with pytest.raises(ProjectCorruptError, match="newer s2v"):
        migrate({"schema_version": 99})


def test_seed_layout_migrates_to_current_schema() -> None:
    seed = {"story_id": "story-1", "display_name": "灯笼", "style": "水彩", "script_content": "从前。",
            "shots": [{"id": "shot_01", "sequence": 1, "subject": "老人", "detail": "d", "camera": "镜头推进",
                       "narration": "从前。", "tone": "平静", "image_url": "http://x/expiring"}]}
    data, changed = migrate(seed)
    project = Project.model_validate(data)
    assert changed and project.title == "灯笼" and project.shots[0].subject == "老人"
    assert "expiring" not in project.model_dump_json()


def test_resolve_refuses_paths_outside_the_project(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p")
    with pytest.raises(BadInputError):
        folder.resolve("../outside.txt")
    with pytest.raises(BadInputError):
        folder.asset_relpath("../x", "keyframe", "abc", ".png")


def test_store_lists_creates_and_deletes_only_inside_root(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path / "projects")
    created = store.create(_project())
    created.unlock()
    (store.root / "broken").mkdir()
    (store.root / "broken" / "project.json").write_text("{nope")
    summaries = {s.id: s for s in store.list()}
    assert summaries["demo"].shots == 1 and summaries["broken"].status == "corrupt"
    with pytest.raises(BadInputError):
        store.delete("../projects")
    copy = store.duplicate("demo", "demo-copy", "Demo copy")
    copy.unlock()
    store.delete("demo")
    assert [s.id for s in store.list()] == ["broken", "demo-copy"]
