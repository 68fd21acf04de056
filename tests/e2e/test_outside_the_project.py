"""s2v never reads, writes or deletes a file outside its project folder — not for a folder that is not
a project, not through a planted link, not for a shared project's music (issue: trust, items 1, 2, 4, 14,
16, 17)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from s2v_tui.cli import main
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_EN

pytestmark = pytest.mark.e2e

FAKE = ["--backend", "storyboard=fake", "--backend", "keyframe=fake", "--backend", "clip=fake",
        "--backend", "voice=fake", "--size", "160x288"]


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry below `root` (links not followed): inode, mtime and content."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = (0, 0, os.readlink(path).encode())
        elif path.is_file():
            st = path.stat()
            found[str(path)] = (st.st_ino, st.st_mtime_ns, path.read_bytes())
        else:
            found[str(path)] = (0, 0, b"<dir>")
    return found


@pytest.fixture
def story(tmp_path: Path) -> Path:
    path = tmp_path / "story.en.txt"
    path.write_text(STORY_EN, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, story: Path) -> Path:
    out = tmp_path / "p"
    assert main(["--run", str(story), "--out", str(out), *FAKE]) == 0
    return out


def test_run_restore_and_out_on_a_folder_that_is_not_a_project_touch_nothing(tmp_path: Path, story: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "d"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / ".draft.tmp").write_text("x")
    (folder / ".notes.abcd1234.tmp").write_text("y")
    (folder / "essay.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert main(["--run", str(folder)]) == 2
    assert main(["restore", str(folder)]) == 2
    assert main(["--run", str(story), "--out", str(folder), *FAKE]) == 2
    err = capsys.readouterr().err
    assert "no project at" in err and "is not an s2v project" in err and "not empty" in err
    assert snapshot(tmp_path) == before  # no file deleted, no lock file left, nothing turned into a project


def test_out_may_be_a_new_or_empty_folder_but_never_a_file_or_under_one(tmp_path: Path, story: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--run", str(story), "--out", str(empty), *FAKE]) == 0
    assert ProjectFolder(empty).load().shots
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for out in (a_file, a_file / "below", Path("/proc/s2v-cannot-write-here")):
        assert main(["--run", str(story), "--out", str(out), *FAKE]) == 2, out
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err and str(out) in err
    assert a_file.read_text() == "not a folder"


def test_a_planted_lock_owner_link_is_replaced_never_written_through(project: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    owner = project / ".s2v.lock.owner"
    owner.unlink(missing_ok=True)
    owner.symlink_to(victim)
    assert main(["--run", str(project), *FAKE[:-2]]) == 0
    assert victim.read_text() == "precious"


def test_a_linked_lock_file_is_a_clear_error(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".s2v.lock").unlink(missing_ok=True)
    (project / ".s2v.lock").symlink_to(tmp_path / "elsewhere.lock")
    assert main(["--run", str(project)]) == 2
    err = capsys.readouterr().err
    assert ".s2v.lock" in err and "symbolic link" in err and "Traceback" not in err
    assert not (tmp_path / "elsewhere.lock").exists()


@pytest.mark.parametrize("linked", ["assets", "assets/.work", "assets/shot_01", "output"])
def test_linked_project_folders_are_refused_before_anything_is_written(project: Path, tmp_path: Path, linked: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not s2v's")
    (elsewhere / ".work").mkdir()  # what `rmtree(assets/.work)` would have swept through an assets link
    (elsewhere / ".work" / "scratch.bin").write_text("also not s2v's")
    target = project / linked
    if target.exists():
        import shutil

        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(elsewhere, target_is_directory=True)
    # Change a shot so a run would really build (and write) something.
    data = json.loads((project / "project.json").read_text())
    data["shots"][0]["detail"] += " (edited)"
    (project / "project.json").write_text(json.dumps(data))
    before = snapshot(tmp_path)
    assert main(["--run", str(project)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_a_shared_projects_music_outside_it_is_never_read(project: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF....not for s2v")
    for path in (str(secret), "../secret.wav"):
        data = json.loads((project / "project.json").read_text())
        data["music"] = {"path": path}
        (project / "project.json").write_text(json.dumps(data))
        before = snapshot(project)
        assert main(["--run", str(project)]) == 2
        err = capsys.readouterr().err
        assert "outside the project folder" in err and "--music" in err
        assert snapshot(project) == before


def test_music_is_checked_before_any_work_and_copied_into_the_project(tmp_path: Path, story: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    not_audio = tmp_path / "notes.mp3"
    not_audio.write_text("this is not audio")
    out = tmp_path / "p"
    assert main(["--run", str(story), "--out", str(out), "--music", str(not_audio), *FAKE]) == 2
    assert "not usable audio" in capsys.readouterr().err and not out.exists()
