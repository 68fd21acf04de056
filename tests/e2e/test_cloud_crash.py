"""Kill `s2v --run` (SIGKILL) while its Wan tasks are polling, run it again: every shot's video task is
resumed, never submitted twice (the seed paid again on every retry)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s2v_tui.domain.shot import Stage
from s2v_tui.storage.project_store import ProjectFolder
from tests.backends.cloud import SHOT_LINES, CloudFakes, storyboard_json

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def s2v(story_or_dir: Path, out: Path | None, env: dict[str, str], stdout) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    args = [sys.executable, "-m", "s2v_tui", "--run", str(story_or_dir), "--json"]
    if out is not None:
        args += ["--out", str(out), "--size", "160x288"]
    return subprocess.Popen(args, stdout=stdout, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def test_sigkill_while_polling_then_resume_submits_each_video_once(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("\n".join(SHOT_LINES), encoding="utf-8")
    out = tmp_path / "out"
    with CloudFakes(polls_to_finish=10**6) as fakes:  # video tasks never finish during the first run
        fakes.dashscope.llm_responses.append(storyboard_json())
        env = {**fakes.env(), "S2V_DASHSCOPE__LANES": "4"}  # room for all three clips to be polling at once
        with open(tmp_path / "run1.jsonl", "w") as log:
            first = s2v(story, out, env, log)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and first.poll() is None:
                submitted = {s["task_id"] for s in fakes.video_submits()}
                if len(submitted) == 3 and all(fakes.dashscope.polls.get(t, 0) >= 2 for t in submitted):
                    break
                time.sleep(0.05)
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        first_tasks = {s["task_id"] for s in fakes.video_submits()}
        assert len(first_tasks) == 3

        project = ProjectFolder(out).load()  # the ids were on disk before the kill
        stored = {shot.stages[Stage.CLIP].task.task_id for shot in project.shots if shot.stages[Stage.CLIP].task}
        assert stored == first_tasks

        for task in fakes.dashscope.tasks.values():  # the service finishes the work meanwhile
            task.polls_needed = 1
        fakes.dashscope.polls_to_finish = 2  # (so a wrongful resubmit would finish and be caught below)
        polls_before = dict(fakes.dashscope.polls)
        second = s2v(out, None, env, subprocess.PIPE)
        stdout, stderr = second.communicate(timeout=90)
        assert second.returncode == 0, stderr[-3000:]
        events = [json.loads(line) for line in stdout.splitlines()]
        summary = events[-1]
        assert summary["type"] == "run_finished" and summary["status"] == "done"
        assert {s["task_id"] for s in fakes.video_submits()} == first_tasks, "a video was submitted again"
        assert len(fakes.video_submits()) == 3
        assert all(fakes.dashscope.polls[t] > polls_before[t] for t in first_tasks), "each stored task was polled"
        assert summary["paid_calls"] == {}, "resuming a task is not a new paid call"
        assert Path(summary["final_path"]).is_file()
