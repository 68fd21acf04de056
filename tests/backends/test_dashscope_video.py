"""Wan image-to-video against the DashScope fake: handovers, persist-before-poll, resume, faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2v_tui.backends.base import ClipRequest
from s2v_tui.backends.dashscope.video import DashScopeVideo, clamp_duration
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import (
    AuthError,
    ContentRejectedError,
    TaskDeadlineError,
    TaskFailedError,
    TransientError,
)
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.engine.retry import with_retries
from s2v_tui.media.probe import verify_video
from tests.backends.conftest import RecordingContext, dashscope_settings
from tests.fakes.media import png_bytes
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(30)

SUBMIT = "POST /api/v1/services/aigc/video-generation/video-synthesis"
POLL = "GET /api/v1/tasks/{id}"


@pytest.fixture
def keyframe(tmp_path: Path) -> Path:
    path = tmp_path / "keyframe.png"
    path.write_bytes(png_bytes(480, 848, seed=3))
    return path


def clip_request(keyframe: Path, seconds: float = 4.0) -> ClipRequest:
    return ClipRequest(keyframe=keyframe, prompt="老人提着红灯笼走上山顶。镜头运动：镜头推进。", camera=CameraMove.PUSH_IN,
                       duration=seconds, width=160, height=288, fps=10, seed=1234, sequence=1)


async def test_submits_once_remembers_before_polling_and_downloads(dashscope_fake, ctx, keyframe, tmp_path):
    polls_at_remember: list[int] = []
    ctx._on_remember = lambda task: polls_at_remember.append(sum(dashscope_fake.polls.values()))
    backend = DashScopeVideo(dashscope_settings(dashscope_fake))
    out = tmp_path / "clip.mp4"
    result = await backend.clip(clip_request(keyframe), out, ctx)
    assert result.kind == "video"
    assert verify_video(out).video[0].height > verify_video(out).video[0].width  # portrait keyframe → portrait clip
    assert len(dashscope_fake.submits) == 1 and ctx.paid == ["dashscope"]
    assert polls_at_remember == [0], "the task id must be stored before the first poll"
    assert ctx.task is not None and ctx.task.task_id == dashscope_fake.submits[0]["task_id"]
    body = dashscope_fake.submits[0]["body"]
    assert body["input"]["img_url"].startswith("data:image/png;base64,")
    assert body["parameters"]["duration"] == 5 and body["parameters"]["resolution"] == "480P"
    await backend.aclose()


async def test_resumes_a_pending_task_without_submitting(dashscope_fake, ctx, keyframe, tmp_path):
    backend = DashScopeVideo(dashscope_settings(dashscope_fake))
    first = RecordingContext(ctx.workdir)
    dashscope_fake.polls_to_finish = 50
    with pytest.raises(TaskDeadlineError) as caught:  # a short deadline stands in for the crash
        await DashScopeVideo(dashscope_settings(dashscope_fake, poll_deadline=1, poll_interval=0.05)).clip(
            clip_request(keyframe), tmp_path / "a.mp4", first)
    task_id = dashscope_fake.submits[0]["task_id"]
    assert task_id in caught.value.message, "the deadline error names the task so the user can resume"
    assert first.task is not None and first.forgotten == 0, "a deadline keeps the task for the next run"
    dashscope_fake.tasks[task_id].polls_needed = 1
    ctx.task = first.task
    await backend.clip(clip_request(keyframe), tmp_path / "b.mp4", ctx)
    assert len(dashscope_fake.submits) == 1 and ctx.paid == []
    assert any("resuming" in message for _, message in ctx.logs)


async def test_task_for_other_inputs_is_not_resumed(dashscope_fake, ctx, keyframe, tmp_path):
    ctx.task = RemoteTask(provider="dashscope", task_id="old-task", input_hash="other-hash")
    await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "c.mp4", ctx)
    assert len(dashscope_fake.submits) == 1
    assert "old-task" not in dashscope_fake.polls


async def test_expired_task_is_forgotten_and_submitted_again(dashscope_fake, ctx, keyframe, tmp_path):
    ctx.task = RemoteTask(provider="dashscope", task_id="expired-task-id", input_hash=ctx.input_hash)
    await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "d.mp4", ctx)
    assert ctx.forgotten == 1 and len(dashscope_fake.submits) == 1
    assert ctx.task is not None and ctx.task.task_id != "expired-task-id"


async def test_failed_task_fails_with_the_provider_message_and_is_forgotten(dashscope_fake, ctx, keyframe, tmp_path):
    dashscope_fake.task_outcomes.append({"status": "FAILED", "code": "InternalError.Algo",
                                         "message": "The video synthesis exploded."})
    with pytest.raises(TaskFailedError) as caught:
        await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "e.mp4", ctx)
    assert "The video synthesis exploded." in caught.value.message
    assert ctx.task is None and ctx.forgotten == 1


async def test_moderated_task_is_content_rejected(dashscope_fake, ctx, keyframe, tmp_path):
    dashscope_fake.task_outcomes.append({"status": "FAILED", "code": "DataInspectionFailed",
                                         "message": "Output data may contain inappropriate content."})
    with pytest.raises(ContentRejectedError) as caught:
        await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "f.mp4", ctx)
    assert caught.value.message == "content moderation rejected this prompt: edit the shot's detail"


async def test_moderated_submit_is_content_rejected(dashscope_fake, ctx, keyframe, tmp_path):
    dashscope_fake.faults.add(SUBMIT, Fault(status=400, body={"code": "DataInspectionFailed",
                                                              "message": "Input data may contain inappropriate content."}))
    with pytest.raises(ContentRejectedError, match="edit the shot's detail"):
        await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "g.mp4", ctx)
    assert ctx.paid == [] and ctx.task is None


@pytest.mark.parametrize("fault", [
    Fault(status=429, body={"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"},
          headers={"Retry-After": "0.02"}),
    Fault(status=500, body={"code": "InternalError", "message": "boom"}),
    Fault(status=503, body="<html>overloaded</html>"),
    Fault(drop=True),
    Fault(delay=2.0),
], ids=["429", "500", "503-html", "reset", "timeout"])
async def test_transient_poll_faults_are_retried_without_resubmitting(dashscope_fake, ctx, keyframe, tmp_path, fault):
    settings = dashscope_settings(dashscope_fake, request_timeout=1)
    dashscope_fake.faults.add(POLL, fault)
    backend = DashScopeVideo(settings)
    errors: list[BaseException] = []
    await with_retries(lambda: backend.clip(clip_request(keyframe), tmp_path / "h.mp4", ctx), settings.retry,
                       on_retry=lambda attempt, exc, delay: errors.append(exc))
    assert errors == []  # polls are free: retried by the poll loop, not the stage (whose budget guards the submit)
    assert len(dashscope_fake.submits) == 1 and ctx.paid == ["dashscope"]
    assert any(level == "warning" and "poll failed" in message for level, message in ctx.logs)


async def test_throttled_submit_honours_retry_after(dashscope_fake, ctx, keyframe, tmp_path):
    dashscope_fake.faults.add(SUBMIT, Fault(status=429, body={"code": "Throttling.RateQuota", "message": "slow down"},
                                            headers={"Retry-After": "7"}))
    with pytest.raises(TransientError) as caught:
        await DashScopeVideo(dashscope_settings(dashscope_fake)).clip(clip_request(keyframe), tmp_path / "i.mp4", ctx)
    assert caught.value.retry_after == 7.0
    assert ctx.task is None and ctx.paid == []


async def test_bad_key_fails_fast_naming_the_variable(dashscope_fake, ctx, keyframe, tmp_path):
    backend = DashScopeVideo(dashscope_settings(dashscope_fake, key="sk-wrong-key-0000"))
    with pytest.raises(AuthError) as caught:
        await backend.clip(clip_request(keyframe), tmp_path / "j.mp4", ctx)
    assert "DASHSCOPE_API_KEY" in str(caught.value)


@pytest.mark.parametrize("mode", ["cut", "short"])
async def test_broken_download_is_downloaded_again_from_the_same_link(dashscope_fake, ctx, keyframe, tmp_path, mode):
    dashscope_fake.truncate_next_downloads, dashscope_fake.truncate_mode = 1, mode
    settings = dashscope_settings(dashscope_fake)
    backend = DashScopeVideo(settings)
    errors: list[BaseException] = []
    out = tmp_path / "k.mp4"
    await with_retries(lambda: backend.clip(clip_request(keyframe), out, ctx), settings.retry,
                       on_retry=lambda attempt, exc, delay: errors.append(exc))
    assert errors == []  # the download is retried on its own; the stage never sees it
    assert verify_video(out).duration > 0
    assert len(dashscope_fake.submits) == 1 and len(dashscope_fake.downloads) == 2
    assert len(set(dashscope_fake.downloads)) == 1


async def test_always_broken_download_fails_after_the_configured_attempts(dashscope_fake, ctx, keyframe, tmp_path):
    dashscope_fake.truncate_next_downloads = 1000
    settings = dashscope_settings(dashscope_fake)
    backend = DashScopeVideo(settings)
    with pytest.raises(TransientError, match="truncated|broken") as caught:
        await with_retries(lambda: backend.clip(clip_request(keyframe), tmp_path / "l.mp4", ctx), settings.retry)
    assert len(dashscope_fake.downloads) == settings.retry.attempts * settings.retry.download_attempts
    assert len(dashscope_fake.submits) == 1 and ctx.task is not None  # kept: the next run downloads it again
    assert "downloads it again" in (caught.value.hint or "")


async def test_temporary_upload_handover(dashscope_fake, ctx, keyframe, tmp_path):
    await DashScopeVideo(dashscope_settings(dashscope_fake, image_handover="upload")).clip(
        clip_request(keyframe), tmp_path / "m.mp4", ctx)
    url = dashscope_fake.submits[0]["body"]["input"]["img_url"]
    assert url.startswith("oss://") and url[len("oss://"):] in dashscope_fake.uploads
    upload = dashscope_fake.requests_to("POST", "/oss-upload")[0]
    assert "authorization" not in {k.lower() for k in upload.headers}, "the upload host must not get the API key"


async def test_oss_handover_uses_a_per_project_shot_content_key_and_a_fresh_signature(
        dashscope_fake, oss_fake, ctx, keyframe, tmp_path):
    settings = dashscope_settings(dashscope_fake, oss=oss_fake, image_handover="oss")
    await DashScopeVideo(settings).clip(clip_request(keyframe), tmp_path / "n.mp4", ctx)
    (key,) = oss_fake.puts
    assert key.startswith("s2v-test/test-story/shot_01/") and key.endswith(".png")
    url = dashscope_fake.submits[0]["body"]["input"]["img_url"]
    assert "Signature=" in url and "Expires=" in url
    assert dashscope_fake.requests and any(r.path.endswith(key) for r in oss_fake.requests if r.method == "GET"), \
        "DashScope (the fake) fetched the keyframe through the presigned link"


def test_duration_is_clamped_to_what_the_model_accepts():
    assert clamp_duration("wan2.5-i2v-preview", 3.2) == 5
    assert clamp_duration("wan2.5-i2v-preview", 7.0) == 10
    assert clamp_duration("wan2.5-i2v-preview", 30.0) == 10
    assert clamp_duration("wan2.2-i2v-plus", 9.0) == 5
    assert clamp_duration("wan2.6-i2v", 11.0) == 15
