"""A 3-shot story rendered with every stage on the cloud backends (DashScope + OSS fakes), checked by
probing the final video; and a second run that reuses everything and pays for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2v_tui.domain.events import RunFinished, RunStarted
from s2v_tui.domain.shot import Stage
from s2v_tui.engine.engine import Engine
from s2v_tui.media.probe import probe
from s2v_tui.storage.project_store import ProjectFolder
from tests.backends.cloud import SHOT_LINES, CloudFakes, storyboard_json
from tests.conftest import new_project

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_three_shot_story_on_cloud_backends(tmp_path: Path) -> None:
    with CloudFakes() as fakes:
        fakes.dashscope.llm_responses.append(storyboard_json())
        settings = fakes.settings()
        folder = ProjectFolder(tmp_path / "p").lock()
        project = new_project("\n".join(SHOT_LINES))
        engine = Engine(folder, settings)
        events = [e async for e in engine.run(project)]
        summary = events[-1]
        assert isinstance(summary, RunFinished) and summary.status == "done", summary.failures
        started = next(e for e in events if isinstance(e, RunStarted))
        assert started.paid_calls == {"dashscope": 10}  # the storyboard call + 3 shots × keyframe, voice, clip
        assert summary.paid_calls == {"dashscope": 10}  # actual: + the storyboard
        assert [s.narration for s in project.shots] == SHOT_LINES

        info = probe(Path(summary.final_path or ""))
        assert len(info.video) == 1 and len(info.audio) == 1
        video = info.video[0]
        assert (video.codec, video.width, video.height, video.fps) == ("h264", 160, 288, 10)
        voices = [float(s.stages[Stage.VOICE].asset.meta["duration"]) for s in project.shots]  # type: ignore[union-attr]
        assert all(abs(v - 0.2 * len(line.rstrip("。").replace("，", ""))) < 0.25 for v, line in zip(voices, SHOT_LINES, strict=True))
        assert info.duration == pytest.approx(sum(max(v + 0.6, 2.0) for v in voices), abs=0.4)
        assert len(fakes.video_submits()) == 3 and len(fakes.oss.puts) == 3
        assert all(s.stages[Stage.CLIP].asset.meta["kind"] == "video" for s in project.shots)  # type: ignore[union-attr]

        again = [e async for e in engine.run(project)]
        assert isinstance(again[-1], RunFinished) and again[-1].status == "done"
        assert again[-1].paid_calls == {} and len(fakes.video_submits()) == 3
        await engine.aclose()
        folder.unlock()
