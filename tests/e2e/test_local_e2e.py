"""A 3-shot story rendered with the LOCAL_INFERENCE=true preset (Ollama storyboard, ComfyUI keyframes and
clips, self-hosted CosyVoice) against the fakes, checked by probing final.mp4; a second run reuses it all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2v_tui.domain.events import RunFinished, StageProgress
from s2v_tui.domain.shot import Stage
from s2v_tui.engine.engine import Engine
from s2v_tui.media.probe import probe
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import make_settings, new_project
from tests.fakes.comfy import ComfyFake
from tests.fakes.cosyvoice_local import CosyVoiceLocalFake, duration_for
from tests.fakes.ollama import OllamaFake

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

LINES = ["夜晚，海边的小镇下起了雪。", "老人提着红灯笼走上山顶。", "远处的渔船看见了光，慢慢回到港口。"]
CAMERAS = ["镜头推进", "垂直升降拍摄", "固定机位"]


def storyboard_json() -> str:
    shots = [{"sequence": i + 1, "subject": f"主体{i + 1}", "detail": f"水彩风格，{line}", "narration": line,
              "camera": CAMERAS[i], "tone": "平静"} for i, line in enumerate(LINES)]
    return json.dumps({"shots": shots}, ensure_ascii=False)


async def test_three_shot_story_with_the_local_preset(tmp_path: Path) -> None:
    with OllamaFake() as ollama, ComfyFake(step_delay=0.02) as comfy, CosyVoiceLocalFake(mode="mp3") as cosyvoice:
        ollama.responses.append(storyboard_json())
        settings = make_settings(
            local_inference=True, ollama={"url": f"{ollama.url}/api/generate"},
            comfy={"hosts": [comfy.url], "poll_interval": 0.05, "request_timeout": 5},
            cosyvoice={"url": f"{cosyvoice.url}/v1/tts"})
        assert [settings.backend_for(s) for s in ("storyboard", "keyframe", "clip", "voice")] == \
            ["ollama", "comfy", "comfy", "cosyvoice"]
        folder = ProjectFolder(tmp_path / "p").lock()
        project = new_project("\n".join(LINES))
        engine = Engine(folder, settings)
        try:
            events = [e async for e in engine.run(project)]
            summary = events[-1]
            assert isinstance(summary, RunFinished) and summary.status == "done", summary.failures
            assert summary.paid_calls == {}
            assert [s.narration for s in project.shots] == LINES

            info = probe(Path(summary.final_path or ""))
            assert len(info.video) == 1 and len(info.audio) == 1
            video = info.video[0]
            assert (video.codec, video.width, video.height, video.fps) == ("h264", 160, 288, 10)
            voices = [float(s.stages[Stage.VOICE].asset.meta["duration"]) for s in project.shots]  # type: ignore[union-attr]
            assert voices == pytest.approx([duration_for(line) for line in LINES], abs=0.1)
            assert info.duration == pytest.approx(sum(max(v + 0.6, 2.0) for v in voices), abs=0.4)

            clips = [s.stages[Stage.CLIP].asset for s in project.shots]
            assert all(c is not None and c.meta["kind"] == "video" and c.backend == "comfy" for c in clips)
            kinds = sorted(p["prompt"][p["outputs"][0]]["class_type"] for p in comfy.prompts)
            assert kinds == ["SaveImage"] * 3 + ["SaveVideo"] * 3 and len(comfy.uploads) == 3
            assert len(cosyvoice.calls) == 3 and [c["endpoint"] for c in ollama.calls] == ["chat"]
            clip_progress = [e for e in events if isinstance(e, StageProgress) and e.stage == "clip"]
            assert any("KSampler" in e.message and 0 < e.fraction < 1 for e in clip_progress), \
                "WebSocket progress from ComfyUI reaches the engine's events"

            again = [e async for e in engine.run(project)]
            assert isinstance(again[-1], RunFinished) and again[-1].status == "done"
            assert len(comfy.prompts) == 6 and len(cosyvoice.calls) == 3, "the second run reuses every asset"
        finally:
            await engine.aclose()
            folder.unlock()
