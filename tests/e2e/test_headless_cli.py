"""`s2v --run` as a user runs it: exit codes, JSON lines, bad input, locks, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s2v_tui.domain.errors import ExitCode
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_ZH

FAKE_ENV = {f"S2V_BACKENDS__{stage.upper()}": "fake" for stage in ("storyboard", "keyframe", "clip", "voice")}
TINY_ARGS = ["--size", "160x288"]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "S2V_RENDER__FPS": "10", **(env or {})}
    return subprocess.run([sys.executable, "-m", "s2v_tui", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


@pytest.fixture
def story(tmp_path: Path) -> Path:
    path = tmp_path / "story.zh.txt"
    path.write_text(STORY_ZH, encoding="utf-8")
    return path


def test_json_run_prints_one_event_per_line_and_exits_zero(tmp_path: Path, story: Path) -> None:
    result = run_cli("--run", str(story), "--out", str(tmp_path / "out"), "--json", *TINY_ARGS, env=FAKE_ENV)
    assert result.returncode == ExitCode.OK, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["type"] == "project" and lines[-1]["type"] == "run_finished"
    assert lines[-1]["status"] == "done"
    assert Path(lines[-1]["final_path"]) == tmp_path / "out" / "output" / "final.mp4"
    assert (tmp_path / "out" / "output" / "final.srt").is_file()
    again = run_cli("--run", str(tmp_path / "out"), "--json", env=FAKE_ENV)
    assert json.loads(again.stdout.splitlines()[-1])["built"] == {}


def test_human_mode_prints_a_summary(tmp_path: Path, story: Path) -> None:
    result = run_cli("--run", str(story), "--out", str(tmp_path / "out"), *TINY_ARGS, env=FAKE_ENV)
    assert result.returncode == 0
    assert "DONE" in result.stderr and "final.mp4" in result.stderr


def test_partial_failure_has_its_own_exit_code(tmp_path: Path, story: Path) -> None:
    env = {**FAKE_ENV, "S2V_FAKE__FAIL": '["shot_01:clip"]'}
    result = run_cli("--run", str(story), "--out", str(tmp_path / "out"), *TINY_ARGS, env=env)
    assert result.returncode == ExitCode.PARTIAL
    assert "shot_01 clip" in result.stderr and "run the same command again" in result.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00bin\x00ary", "not UTF-8"), (b"   \n", "is empty"), (b"# Only\n\n---\n", "no sentences"),
])
def test_bad_scripts_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = run_cli("--run", str(bad), "--out", str(tmp_path / "out"), "--json", env=FAKE_ENV)
    assert result.returncode == ExitCode.BAD_INPUT
    assert message in result.stdout


def test_a_cloud_backend_without_its_key_is_bad_input_naming_the_variable(tmp_path: Path, story: Path) -> None:
    env = {**FAKE_ENV, "S2V_BACKENDS__KEYFRAME": "dashscope", "DASHSCOPE_API_KEY": ""}
    result = run_cli("--run", str(story), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "DASHSCOPE_API_KEY" in result.stdout + result.stderr
    assert "[dashscope] api_key" in result.stdout + result.stderr  # printed as-is, not eaten as markup


def test_missing_story_and_bad_options(tmp_path: Path) -> None:
    assert run_cli("--run", str(tmp_path / "nope.txt")).returncode == ExitCode.BAD_INPUT
    assert run_cli("--run", str(tmp_path), "--backend", "keyframe").returncode == ExitCode.BAD_INPUT
    result = run_cli("--run", str(tmp_path / "x.txt"), "--backend", "keyframe=warp-drive")
    assert result.returncode == ExitCode.BAD_INPUT and "offline" in result.stderr


def test_corrupt_project_is_named_and_kept(tmp_path: Path, story: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("--run", str(story), "--out", str(out), *TINY_ARGS, env=FAKE_ENV).returncode == 0
    (out / "project.json").write_text('{"broken": ', encoding="utf-8")
    result = run_cli("--run", str(out), env=FAKE_ENV)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "project.json" in result.stderr and "s2v restore" in result.stderr
    assert (out / "project.json").read_text() == '{"broken": '
    restored = run_cli("restore", str(out))
    assert restored.returncode == 0 and ProjectFolder(out).load().shots


def test_a_locked_project_is_refused(tmp_path: Path, story: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("--run", str(story), "--out", str(out), *TINY_ARGS, env=FAKE_ENV).returncode == 0
    with ProjectFolder(out):
        result = run_cli("--run", str(out), env=FAKE_ENV)
    assert result.returncode == ExitCode.LOCKED and "another s2v process" in result.stderr


def test_a_different_script_never_overwrites_an_existing_project(tmp_path: Path, story: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("--run", str(story), "--out", str(out), *TINY_ARGS, env=FAKE_ENV).returncode == 0
    other = tmp_path / "other.txt"
    other.write_text("另一个故事。", encoding="utf-8")
    result = run_cli("--run", str(other), "--out", str(out), env=FAKE_ENV)
    assert result.returncode == ExitCode.BAD_INPUT and "different script" in result.stderr


def test_sigkill_then_resume_never_redoes_finished_work(tmp_path: Path, story: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, **FAKE_ENV, "S2V_FAKE__LATENCY": "0.5", "S2V_RENDER__FPS": "10"}
    proc = subprocess.Popen([sys.executable, "-m", "s2v_tui", "--run", str(story), "--out", str(out), "--json",
                             *TINY_ARGS], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    finished_before: set[tuple[str, str]] = set()
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "stage_finished" and not event["cached"] and event["shot_id"]:
            finished_before.add((event["shot_id"], event["stage"]))
        if len(finished_before) >= 4 or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(finished_before) >= 4
    ProjectFolder(out).load()  # still a valid project after SIGKILL mid-run
    result = run_cli("--run", str(out), "--json", env={**FAKE_ENV})
    assert result.returncode == 0, result.stdout[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    cached = {(e["shot_id"], e["stage"]) for e in events if e["type"] == "stage_finished" and e["cached"]}
    started = {(e["shot_id"], e["stage"]) for e in events if e["type"] == "stage_started"}
    assert finished_before <= cached
    assert not finished_before & started


def test_headless_mode_never_imports_textual() -> None:
    code = ("import sys; import s2v_tui.cli, s2v_tui.headless, s2v_tui.engine.engine, s2v_tui.backends.registry;"
            "from s2v_tui.cli import main; main(['--run', '/nonexistent/story.txt']);"
            "assert 'textual' not in sys.modules, 'textual imported'; print('clean')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("clean"), result.stderr
