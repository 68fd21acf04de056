"""Keyframes from qwen-image (sync) and wan t2i (async task) against the DashScope fake."""

from __future__ import annotations

import pytest
from PIL import Image

from s2v_tui.backends.base import KeyframeRequest
from s2v_tui.backends.dashscope.image import DashScopeImage, size_for
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError
from s2v_tui.engine.retry import with_retries
from tests.backends.conftest import dashscope_settings
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(30)

SYNC = "POST /api/v1/services/aigc/multimodal-generation/generation"


def keyframe_request(width: int = 160, height: int = 288) -> KeyframeRequest:
    return KeyframeRequest(prompt="水彩插画，夜晚的海边小镇下起了雪", negative_prompt="blurry", width=width, height=height,
                           seed=42, style="水彩插画", language="zh", sequence=1, subject="小镇", detail="下雪",
                           narration="夜晚，海边的小镇下起了雪。")


@pytest.mark.parametrize(("model", "width", "height", "expected"), [
    ("qwen-image-plus", 720, 1280, (928, 1664)),
    ("qwen-image-plus", 1280, 720, (1664, 928)),
    ("qwen-image", 1080, 1080, (1328, 1328)),
    ("qwen-image-plus", 160, 288, (928, 1664)),
    ("wan2.2-t2i-flash", 720, 1280, (768, 1360)),
    ("wan2.2-t2i-flash", 1080, 1080, (1024, 1024)),
])
def test_size_follows_the_project_aspect_within_the_model_limits(model, width, height, expected):
    assert size_for(model, width, height) == expected


def test_configured_size_wins():
    assert size_for("qwen-image-plus", 1280, 720, "928*1664") == (928, 1664)


async def test_qwen_image_sync_writes_an_image_of_the_requested_size(dashscope_fake, ctx, tmp_path):
    out = tmp_path / "kf.img"
    backend = DashScopeImage(dashscope_settings(dashscope_fake))
    await backend.keyframe(keyframe_request(), out, ctx)
    with Image.open(out) as image:
        assert image.size == (928, 1664)
    call = dashscope_fake.image_calls[0]
    assert call["size"] == "928*1664" and call["body"]["parameters"]["watermark"] is False
    assert ctx.paid == ["dashscope"]
    # The paid image's link is kept like a task id until the engine has stored the file, so a failed
    # download (or a crash) downloads it again instead of paying for a new image.
    assert ctx.task is not None and ctx.task.extra["result_url"] == call["urls"][0]


async def test_wan_t2i_async_task_is_remembered_before_polling(dashscope_fake, ctx, tmp_path):
    polls_at_remember: list[int] = []
    ctx._on_remember = lambda task: polls_at_remember.append(sum(dashscope_fake.polls.values()))
    out = tmp_path / "kf.img"
    await DashScopeImage(dashscope_settings(dashscope_fake, image_model="wan2.2-t2i-flash")).keyframe(
        keyframe_request(720, 1280), out, ctx)
    with Image.open(out) as image:
        assert image.size == (768, 1360)
    assert polls_at_remember == [0] and len(dashscope_fake.submits) == 1
    assert dashscope_fake.submits[0]["endpoint"] == "text2image/image-synthesis"


async def test_wan_t2i_resumes_its_task_after_a_poll_failure(dashscope_fake, ctx, tmp_path):
    settings = dashscope_settings(dashscope_fake, image_model="wan2.2-t2i-flash")
    dashscope_fake.faults.add("GET /api/v1/tasks/{id}", Fault(status=502, body="bad gateway"))
    backend = DashScopeImage(settings)
    await with_retries(lambda: backend.keyframe(keyframe_request(), tmp_path / "kf.img", ctx), settings.retry)
    assert len(dashscope_fake.submits) == 1 and ctx.paid == ["dashscope"]


async def test_moderation_on_the_sync_call_is_content_rejected(dashscope_fake, ctx, tmp_path):
    dashscope_fake.faults.add(SYNC, Fault(status=400, body={"code": "DataInspectionFailed",
                                                            "message": "Input data may contain inappropriate content."}))
    with pytest.raises(ContentRejectedError) as caught:
        await DashScopeImage(dashscope_settings(dashscope_fake)).keyframe(keyframe_request(), tmp_path / "kf", ctx)
    assert caught.value.message == "content moderation rejected this prompt: edit the shot's detail"
    assert ctx.paid == []


async def test_missing_key_names_the_variable(dashscope_fake, ctx, tmp_path):
    settings = dashscope_settings(dashscope_fake)
    settings.dashscope.api_key = None
    with pytest.raises(AuthError) as caught:
        await DashScopeImage(settings).keyframe(keyframe_request(), tmp_path / "kf", ctx)
    assert "DASHSCOPE_API_KEY" in str(caught.value)
    assert dashscope_fake.requests == []


async def test_an_html_error_page_saved_as_image_is_downloaded_again_not_paid_again(dashscope_fake, ctx, tmp_path):
    dashscope_fake.faults.add("GET /files/{name}", Fault(status=200, body=b"<html>not an image</html>"))
    await DashScopeImage(dashscope_settings(dashscope_fake)).keyframe(keyframe_request(), tmp_path / "kf", ctx)
    assert len(dashscope_fake.image_calls) == 1 and len(dashscope_fake.requests_to("GET", "/files/")) == 2
    assert ctx.paid == ["dashscope"]


async def test_a_failed_download_is_retried_from_the_same_link_across_attempts(dashscope_fake, ctx, tmp_path):
    dashscope_fake.truncate_next_downloads = 7  # more than one stage attempt's downloads
    settings = dashscope_settings(dashscope_fake)
    backend = DashScopeImage(settings)
    await with_retries(lambda: backend.keyframe(keyframe_request(), tmp_path / "kf", ctx), settings.retry)
    assert len(dashscope_fake.image_calls) == 1 and ctx.paid == ["dashscope"]  # paid once, downloaded 8 times
    assert len(set(dashscope_fake.downloads)) == 1 and len(dashscope_fake.downloads) == 8


async def test_an_expired_link_is_generated_again_and_says_so(dashscope_fake, ctx, tmp_path):
    from s2v_tui.domain.shot import RemoteTask

    ctx.task = RemoteTask(provider="dashscope", task_id="old", input_hash=ctx.input_hash,
                          extra={"result_url": f"{dashscope_fake.url}/files/gone.png?Expires=1000&Signature=x"})
    await DashScopeImage(dashscope_settings(dashscope_fake)).keyframe(keyframe_request(), tmp_path / "kf", ctx)
    assert len(dashscope_fake.image_calls) == 1 and any("expired" in message for _, message in ctx.logs)


async def test_a_wrong_size_is_refused(dashscope_fake, ctx, tmp_path):
    backend = DashScopeImage(dashscope_settings(dashscope_fake, image_model="wan2.2-t2i-flash"))
    original = backend.http.download

    async def shrink(url, out, verify):  # the service answers with another size than asked
        await original(url, out, verify)
        with Image.open(out) as image:
            image.resize((512, 512)).save(out, "PNG")

    backend.http.download = shrink  # type: ignore[method-assign]
    with pytest.raises(BackendError, match="512x512"):
        await backend.keyframe(keyframe_request(), tmp_path / "kf.img", ctx)
