"""The real app in a real terminal (tmux): new project from the example story → storyboard → render with
the offline backends → quit; then the video must exist. Skipped when tmux is not installed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lantern.zh.txt"


class Tmux:
    """One tmux server on a private socket (so a developer's own tmux is never touched)."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "s2v")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self("send-keys", "-t", "s2v", *(["-l"] if literal else []), *keys)
        time.sleep(0.3)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.screen()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_new_project_storyboard_render_quit_in_tmux(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    env = {"S2V_CONFIG_FILE": os.devnull, "S2V_PROJECTS_DIR": str(projects),
           "S2V_RENDER__SIZE": "160x288", "S2V_RENDER__FPS": "10", "TERM": "xterm-256color",
           "S2V_VOICE__ENGINE": "espeak", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    # COLUMNS/LINES leak into os.environ from earlier in-process Textual runs and would pin the app to 80x24.
    command = " ".join(["env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "s2v_tui"])  # Textual draws on stderr: no redirect
    tmux = Tmux(f"s2v-test-{os.getpid()}")
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "s2v", "-x", "120", "-y", "40", "sh", "-c",
         command + "; echo S2V-EXITED $?; sleep 30")
    try:
        tmux("set-option", "-g", "escape-time", "0")  # an Escape followed by a letter must not become alt+letter
        tmux.wait_for("projects in", timeout=30)
        tmux.keys("f")
        tmux.wait_for("New project from a story file")
        tmux.keys(str(EXAMPLE), literal=True)
        tmux.keys("Enter")
        tmux.wait_for("1 Script", timeout=30)
        # No escape first: opening a project focuses no text field, so "g" is the command. (An escape
        # and a letter read together under load also arrive as alt+letter, which made this test flaky.)
        tmux.keys("g")
        tmux.wait_for("storyboard: done", timeout=60)
        tmux.keys("R")
        tmux.wait_for("render: done", timeout=120)
        tmux.wait_for("final: output/final.mp4")
        tmux.keys("C-q")
        tmux.wait_for("S2V-EXITED 0", timeout=30)
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True)
    [project] = list(projects.iterdir())
    final = project / "output" / "final.mp4"
    assert final.is_file() and final.stat().st_size > 10_000
    assert not (project / ".s2v.lock.owner").exists()  # quitting released the lock
