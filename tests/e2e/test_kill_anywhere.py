"""SIGKILL `s2v --run` at the n-th save / record / place / encode of a tiny render, then run it again:
project.json always loads, the resumed run finishes (exit 0), and no file that was complete at the kill
is rewritten — a finished asset is adopted, never rebuilt (issue: trust, item 5).

The kill comes from the process itself (`S2V_TEST_KILL_AT`, `s2v_tui.faults`), so it lands exactly
between two steps that a random signal would hit only sometimes. The suite tries positions 1, 2, 4, 7,
12… of every kind; `S2V_CRASH_EXHAUSTIVE=1` tries every position (the figures in the closing note).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from s2v_tui.faults import ENV
from s2v_tui.storage.project_store import ProjectFolder

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

STORY = "# Two lamps\n\nAt night the harbour was dark. An old keeper lit the lamp.\n\nThe boats saw the light."
ARGS = ["--backend", "storyboard=fake", "--backend", "keyframe=fake", "--backend", "clip=offline",
        "--backend", "voice=fake", "--size", "96x160"]
KINDS = ("save", "record", "place", "encode")
NOT_ASSETS = {"project.json", "project.json.bak", ".s2v.lock", ".s2v.lock.owner"}


def positions() -> list[int]:
    if os.environ.get("S2V_CRASH_EXHAUSTIVE"):
        return list(range(1, 200))
    return [1, 2, 4, 7, 12, 20, 33, 54, 88]


def run(story: Path, out: Path, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "S2V_RENDER__FPS": "8", "S2V_RENDER__SAMPLE_RATE": "16000"}
    env.pop(ENV, None)
    if kill_at:
        env[ENV] = kill_at
    return subprocess.run([sys.executable, "-m", "s2v_tui", "--run", str(story), "--out", str(out), "--json", *ARGS],
                          capture_output=True, text=True, env=env, timeout=300)


def complete_files(out: Path) -> dict[str, tuple[int, int, str]]:
    """Every file of the project a kill left complete (scratch and s2v's own bookkeeping — project.json,
    lock, asset records — excluded)."""
    found = {}
    for path in out.rglob("*"):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in NOT_ASSETS and not rel.startswith(("assets/.work/", "assets/.records/")):
            st = path.stat()
            found[rel] = (st.st_ino, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_a_kill_at_any_step_loses_nothing_and_rebuilds_nothing(kind: str, tmp_path: Path) -> None:
    story = tmp_path / "story.en.txt"
    story.write_text(STORY, encoding="utf-8")
    killed = 0
    for n in positions():
        out = tmp_path / f"{kind}-{n}"
        first = run(story, out, f"{kind}:{n}")
        if first.returncode != -signal.SIGKILL:
            assert first.returncode == 0, first.stderr[-2000:]
            break  # the render has fewer than n events of this kind: all positions were tried
        killed += 1
        ProjectFolder(out).load()  # still a valid project
        kept = complete_files(out)
        second = run(story, out, None)
        assert second.returncode == 0, f"resume after {kind}:{n} failed: {second.stderr[-2000:]}"
        events = [json.loads(line) for line in second.stdout.splitlines()]
        summary = events[-1]
        assert summary["type"] == "run_finished" and summary["status"] == "done"
        rebuilt = [e["path"] for e in events if e["type"] == "stage_finished" and not e["cached"] and e["path"] in kept]
        assert rebuilt == [], f"kill at {kind}:{n}: the resume rebuilt assets that were complete on disk"
        after = complete_files(out)
        rewritten = [rel for rel, facts in kept.items() if rel in after and after[rel][:2] != facts[:2]]
        assert rewritten == [], f"kill at {kind}:{n} made the resume rewrite complete files"
        assert (out / "output" / "final.mp4").is_file()
    assert killed >= 1, f"no {kind} event happened in the render"
