"""Two offline renders of the same inputs are the same bytes (the cache and `s2v --run` resumes rely on it).

The narration comes from the deterministic fake voice: espeak-ng itself does not repeat its samples
exactly from one call to the next (the same sentence twice in one process gives different bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from s2v_tui.domain.events import RunFinished
from s2v_tui.domain.shot import Stage
from s2v_tui.engine.engine import Engine
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_EN, make_settings, new_project

pytestmark = pytest.mark.e2e


async def _render(folder_path: Path) -> tuple[dict[str, str], Path]:
    folder = ProjectFolder(folder_path).lock()
    project = new_project(STORY_EN, language="en")
    settings = make_settings(backends={"voice": "fake"})  # painter, motion, cues, x264, join: all real
    events = [e async for e in Engine(folder, settings).run(project)]
    summary = events[-1]
    assert isinstance(summary, RunFinished) and summary.status == "done", summary.failures
    digests = {f"{s.id} {stage.value}": s.stages[stage].asset.sha256  # type: ignore[union-attr]
               for s in project.shots for stage in (Stage.KEYFRAME, Stage.VOICE, Stage.SEGMENT)}
    final = Path(summary.final_path or "")
    digests["final.mp4"] = hashlib.sha256(final.read_bytes()).hexdigest()
    digests["final.srt"] = hashlib.sha256(Path(summary.srt_path or "").read_bytes()).hexdigest()
    folder.unlock()
    return digests, final


async def test_the_same_inputs_render_the_same_bytes(tmp_path: Path) -> None:
    first, _ = await _render(tmp_path / "one")
    second, _ = await _render(tmp_path / "two")
    assert len(first) > 3
    assert first == second, {k: (v, second.get(k)) for k, v in first.items() if second.get(k) != v}
