"""Bad input gets the documented exit code and a message that says what to do — and a refused run
writes nothing (issue: trust, items 8–13, 15–17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s2v_tui.cli import main
from s2v_tui.domain.errors import BadInputError, ProjectCorruptError
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_EN

pytestmark = pytest.mark.e2e

FAKE = ["--backend", "storyboard=fake", "--backend", "keyframe=fake", "--backend", "clip=fake",
        "--backend", "voice=fake", "--size", "160x288"]


def story_file(tmp_path: Path, text: str, name: str = "story.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    out = tmp_path / "p"
    assert main(["--run", str(story_file(tmp_path, STORY_EN, "s.en.txt")), "--out", str(out), *FAKE]) == 0
    return out


@pytest.mark.parametrize("text", [
    "!!! ??? ;;; ……", "\u200b\u200c\u200d\ufeff\u2060", "---\n***\n___\n```\n```\n- \n* \n1.\n2)", "\x01\x02\x03\x1f\x7f",
    "# \n## \n> \n", "。，、！？「」『』",
])
def test_a_story_with_no_words_is_refused_before_anything_is_made(text: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["--run", str(story_file(tmp_path, text)), "--out", str(out), *FAKE]) == 2
    err = capsys.readouterr().err
    assert "no words to narrate" in err and "→" in err
    assert not out.exists()


def test_a_project_whose_script_lost_its_words_is_refused_without_a_write(project: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((project / "project.json").read_text())
    data["script"], data["shots"] = "!!! ???", []
    (project / "project.json").write_text(json.dumps(data))
    before = (project / "project.json").read_bytes()
    assert main(["--run", str(project)]) == 2
    assert "no words to narrate" in capsys.readouterr().err
    assert (project / "project.json").read_bytes() == before


@pytest.mark.parametrize("where", ["missing", "folder", "env-missing", "bad-toml"])
def test_a_config_file_the_user_named_must_exist_and_parse(where: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    story = story_file(tmp_path, STORY_EN, "s.en.txt")
    named = {"missing": tmp_path / "nope.toml", "folder": tmp_path, "env-missing": tmp_path / "gone.toml",
             "bad-toml": tmp_path / "bad.toml"}[where]
    if where == "bad-toml":
        named.write_text("[render\nfps = ", encoding="utf-8")
    if where == "env-missing":
        monkeypatch.setenv("S2V_CONFIG_FILE", str(named))
        args = ["--run", str(story), "--out", str(tmp_path / "o"), *FAKE]
    else:
        args = ["--run", str(story), "--out", str(tmp_path / "o"), "--config", str(named), *FAKE]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(named) in err and ("not found" in err or "folder" in err or "TOML" in err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("size", ["abc", "7x7", "0x0", "99999x99999", "", "７２０x１２８０", "721x1280", "720x"])
def test_invalid_sizes_are_refused_naming_the_option_or_key(size: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    story = story_file(tmp_path, STORY_EN, "s.en.txt")
    assert main(["--run", str(story), "--out", str(tmp_path / "a"), *FAKE[:-2], "--size", size]) == 2
    assert "--size" in capsys.readouterr().err
    config = tmp_path / "config.toml"
    config.write_text(f"[render]\nsize = {json.dumps(size)}\n", encoding="utf-8")
    assert main(["--run", str(story), "--out", str(tmp_path / "b"), "--config", str(config), *FAKE[:-2]]) == 2
    assert "render.size" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("shots", ["shot_99", "../etc", "shot_01,,shot_02", "", " "])
def test_a_refused_shots_option_writes_nothing(shots: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
    assert main(["--run", str(project), "--shots", shots]) == 2
    assert "shot" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in project.iterdir() if p.is_file() and p.name != ".s2v.lock.owner"} == {
        k: v for k, v in before.items() if k != ".s2v.lock.owner"}


def test_options_of_a_new_project_are_refused_for_an_existing_one(project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--run", str(project), "--style", "oil painting"]) == 2
    assert "--style" in capsys.readouterr().err


def test_project_files_that_are_not_projects_give_messages_not_tracebacks(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "nested": "[" * 100_000,
        "nul-path": json.dumps({"schema_version": 1, "id": "x", "title": "t", "shots": [{"id": "shot_01", "sequence": 1,
                                "stages": {"keyframe": {"asset": {"path": "assets/a\u0000.png", "sha256": "0",
                                                                  "media_type": "image/png", "backend": "x",
                                                                  "input_hash": "0"}}}}]}),
        "null-version": json.dumps({"schema_version": None, "id": "x", "title": "t"}),
        "text-version": json.dumps({"schema_version": "1", "id": "x", "title": "t"}),
        "list-version": json.dumps({"schema_version": [1], "id": "x", "title": "t"}),
        "negative-version": json.dumps({"schema_version": -1, "id": "x", "title": "t"}),
        "bool-version": json.dumps({"schema_version": True, "id": "x", "title": "t"}),
        "huge-narration": json.dumps({"schema_version": 1, "id": "x", "title": "t",
                                      "shots": [{"id": "shot_01", "sequence": 1, "narration": "字" * 1_000_000}]}),
        "many-shots": json.dumps({"schema_version": 1, "id": "x", "title": "t",
                                  "shots": [{"id": f"s{i}", "sequence": i + 1} for i in range(100_000)]}),
    }
    for name, text in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "project.json").write_text(text, encoding="utf-8")
        before = (folder / "project.json").read_bytes()
        code = main(["--run", str(folder)])
        err = capsys.readouterr().err
        assert code == 2, (name, err)
        assert "Traceback" not in err and "→" in err, (name, err)  # what happened, then what to do
        assert (folder / "project.json").read_bytes() == before, name
        if name == "nul-path":
            assert "shots.0.stages.keyframe.asset.path" in err


def test_restore_on_a_folder_that_is_not_a_project_says_what_to_pass(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").mkdir()
    assert main(["restore", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "not an s2v project" in err and "pass the folder" in err


def test_a_closed_stdout_never_stops_the_render(tmp_path: Path) -> None:
    story = story_file(tmp_path, STORY_EN, "s.en.txt")
    out = tmp_path / "p"
    env = {**os.environ}
    command = (f"{sys.executable} -m s2v_tui --run {story} --out {out} --json {' '.join(FAKE)} | head -1; "
               "exit ${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["type"] == "project"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert (out / "output" / "final.mp4").is_file()


def test_the_store_itself_refuses_oversized_and_nested_files(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p")
    folder.path.mkdir()
    folder.json_path.write_bytes(b" " * 33_000_000)
    with pytest.raises(ProjectCorruptError, match="MB"):
        folder.load()
    folder.json_path.write_text("[" * 50_000)
    with pytest.raises(BadInputError):
        folder.load()


def test_a_missing_key_is_said_once_per_stage_before_anything_is_made(tmp_path: Path, project: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    story = story_file(tmp_path, STORY_EN, "new.en.txt")
    cloud = ["--backend", "keyframe=dashscope", "--backend", "clip=pixverse", "--size", "160x288"]
    assert main(["--run", str(story), "--out", str(tmp_path / "new"), *cloud]) == 2
    err = capsys.readouterr().err
    assert "DASHSCOPE_API_KEY" in err and "PIXVERSE_API_KEY" in err and "--backend keyframe=offline" in err
    assert not (tmp_path / "new").exists()
    # An existing project: only the stages that would really run are checked, once, and nothing is written.
    data = json.loads((project / "project.json").read_text())
    data["shots"][0]["detail"] += " (edited)"  # the keyframe of one shot (and its clip, segment) must be remade
    (project / "project.json").write_text(json.dumps(data))
    before = (project / "project.json").read_bytes()
    assert main(["--run", str(project), "--backend", "keyframe=dashscope"]) == 2
    err = capsys.readouterr().err
    assert err.count("needs DASHSCOPE_API_KEY") <= 2 and "shot_0" not in err.split("error")[0]
    assert (project / "project.json").read_bytes() == before
    # The storyboard exists, so a keyless storyboard backend is never called and not asked for.
    assert main(["--run", str(project), "--backend", "storyboard=dashscope", *FAKE[2:-2]]) == 0
