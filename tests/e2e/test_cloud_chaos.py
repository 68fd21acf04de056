"""30% of every request to DashScope and OSS fails — submits, polls, result downloads (errors and
truncated bodies), keyframe uploads, the CosyVoice WebSocket (handshake and task) — and still every
shot completes and every paid thing is paid for exactly once per shot (issue: trust, items 6, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2v_tui.config import Settings, load_settings
from s2v_tui.domain.events import RunFinished
from s2v_tui.engine.engine import Engine
from s2v_tui.storage.project_store import ProjectFolder
from tests.backends.cloud import CloudFakes, storyboard_json
from tests.conftest import new_project
from tests.fakes.server import Chaos

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LINES = ["夜晚，海边的小镇下起了雪。", "老人提着红灯笼走上山顶。", "远处的渔船看见了光。", "船慢慢回到港口。",
         "孩子们在岸边欢呼。", "灯笼一直亮到天明。"]


async def render(settings: Settings, tmp_path: Path) -> RunFinished:
    """Render the six-line story on these settings; it must finish "done"."""
    folder = ProjectFolder(tmp_path / "p").lock()
    engine = Engine(folder, settings)
    events = [e async for e in engine.run(new_project("\n".join(LINES)))]
    await engine.aclose()
    folder.unlock()
    summary = events[-1]
    assert isinstance(summary, RunFinished)
    assert summary.status == "done", [str(f.error) for f in summary.failures]
    return summary


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("image_model", ["qwen-image-plus", "wan2.2-t2i-flash"])
async def test_thirty_percent_faults_everywhere_every_shot_done_each_paid_once(tmp_path: Path, seed: int,
                                                                                image_model: str) -> None:
    with CloudFakes(polls_to_finish=3) as fakes:
        ds = fakes.dashscope
        ds.llm_responses.append(storyboard_json(LINES))
        ds.chaos = Chaos(rate=0.3, seed=seed)
        # OSS: s2v's uploads. (DashScope fetching the keyframe back from OSS is the provider's own
        # traffic: a failure there fails the task on the provider's side, which no client can retry.)
        fakes.oss.chaos = Chaos(rate=0.3, seed=seed, routes=("PUT ",))
        settings = fakes.settings(image_model=image_model)
        settings = settings.model_copy(update={"retry": settings.retry.model_copy(
            update={"attempts": 12, "base_delay": 0.01, "max_delay": 0.05, "download_attempts": 6})})
        summary = await render(settings, tmp_path)
        # The chaos really happened, on every kind of route (which fault kind hit which route varies by
        # seed; truncated downloads and failed synthesis tasks also have their own tests).
        kinds = {kind for _, kind in ds.chaos.injected}
        assert {"500", "429"} <= kinds and kinds & {"drop", "truncate", "task-failed"}, ds.chaos.injected
        routes = {route for route, _ in ds.chaos.injected}
        assert {"GET /api/v1/tasks/{id}", "GET /files/{name}", "GET /api-ws/v1/inference"} <= routes, routes
        assert fakes.oss.chaos.injected, "no OSS upload was faulted"

        shots = len(LINES)
        assert len(ds.chat_calls) == 1
        assert len(ds.image_calls) + len([s for s in ds.submits if "image-synthesis" in s["endpoint"]]) == shots
        assert len(fakes.video_submits()) == shots
        assert ds.tts_finished == shots
        assert summary.paid_calls == {"dashscope": 1 + 3 * shots}


async def test_failing_polls_never_spend_the_paid_submits_retry_budget(tmp_path: Path) -> None:
    with CloudFakes(polls_to_finish=4) as fakes:
        ds = fakes.dashscope
        ds.llm_responses.append(storyboard_json(LINES))
        ds.chaos = Chaos(rate=0.3, seed=7, routes=("GET /api/v1/tasks",), kinds=("500", "429"))
        settings = fakes.settings(image_model="wan2.2-t2i-flash")
        settings = settings.model_copy(update={"retry": settings.retry.model_copy(update={"attempts": 2})})
        await render(settings, tmp_path)
    assert len(ds.chaos.injected) >= 6  # every shot's polls were hit, several times
    assert len(ds.submits) == 2 * len(LINES)  # one image task and one video task per shot, never resubmitted


async def test_pixverse_clips_under_thirty_percent_faults_are_each_generated_once(tmp_path: Path) -> None:
    with CloudFakes(polls_to_finish=3) as fakes:
        fakes.dashscope.llm_responses.append(storyboard_json(LINES))
        fakes.pixverse.chaos = Chaos(rate=0.3, seed=3)  # upload, generate, result polls, the MP4 download
        sections = fakes.sections()
        sections["backends"]["clip"] = "pixverse"
        sections["retry"] = {"attempts": 12, "base_delay": 0.01, "max_delay": 0.05, "download_attempts": 6}
        await render(load_settings(**sections), tmp_path)
        routes = {route for route, _ in fakes.pixverse.chaos.injected}
    assert len(routes) >= 4, routes  # every route of the flow failed at least once
    assert fakes.pixverse.jobs_created == len(LINES)  # the trace id made every retried generate the same job
