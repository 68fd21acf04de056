"""PixVerse image-to-video against the PixVerse fake: envelope errors as HTTP 200, trace-id idempotency,
persist-then-poll, resume, moderation / failure / concurrency-limit handling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from s2v_tui.backends.base import ClipRequest
from s2v_tui.backends.pixverse.video import PixVerseVideo
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import AuthError, ContentRejectedError, TaskDeadlineError, TaskFailedError, TransientError
from s2v_tui.engine.retry import with_retries
from s2v_tui.media.probe import verify_video
from tests.conftest import make_settings
from tests.fakes.media import png_bytes
from tests.fakes.pixverse import PixVerseFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(30)

GENERATE = "POST /openapi/v2/video/img/generate"
RESULT = "GET /openapi/v2/video/result/{id}"


@pytest.fixture
def pixverse_fake() -> Iterator[PixVerseFake]:
    fake = PixVerseFake(api_key="pv-test-fake-key-77", polls_to_finish=2).start()
    yield fake
    fake.stop()


def backend(fake: PixVerseFake, **overrides) -> PixVerseVideo:
    section = {"api_key": fake.api_key, "base_url": fake.url, "poll_interval": 0.01, "poll_deadline": 10,
               **overrides}
    return PixVerseVideo(make_settings(pixverse=section))


@pytest.fixture
def request_(tmp_path: Path) -> ClipRequest:
    keyframe = tmp_path / "kf.png"
    keyframe.write_bytes(png_bytes(288, 512, seed=5))
    return ClipRequest(keyframe=keyframe, prompt="the old man walks up the hill with a lantern",
                       camera=CameraMove.PUSH_IN, duration=6.2, width=160, height=288, fps=10, seed=7, sequence=1)


async def test_upload_generate_poll_download(pixverse_fake, ctx, request_, tmp_path):
    remembered_before_poll: list[bool] = []
    ctx._on_remember = lambda task: remembered_before_poll.append(
        all(job["polls"] == 0 for job in pixverse_fake.jobs.values()))
    out = tmp_path / "clip.mp4"
    result = await backend(pixverse_fake).clip(request_, out, ctx)
    assert result.kind == "video" and verify_video(out).duration > 0
    (job,) = pixverse_fake.jobs.values()
    assert job["body"]["duration"] == 8 and job["body"]["quality"] == "540p"  # 6.2 s → the 8 s clip
    assert remembered_before_poll == [True, True], "trace id, then video id, stored before the first poll"
    assert ctx.task is not None and ctx.task.extra["trace_id"] == job["trace_id"]
    assert ctx.task.task_id == str(next(iter(pixverse_fake.jobs)))
    assert ctx.paid == ["pixverse"]


async def test_a_lost_generate_answer_is_resent_with_the_same_trace_id(pixverse_fake, ctx, request_, tmp_path):
    pv = backend(pixverse_fake)
    settings = make_settings()
    original = pv.client.call

    async def lose_first_answer(method, path, **kwargs):  # the job is created, the answer never arrives
        answer = await original(method, path, **kwargs)
        if path == "video/img/generate" and pixverse_fake.generate_calls == 1:
            raise TransientError("connection reset after the request was processed")
        return answer

    pv.client.call = lose_first_answer  # type: ignore[method-assign]
    await with_retries(lambda: pv.clip(request_, tmp_path / "c.mp4", ctx), settings.retry)
    assert pixverse_fake.generate_calls == 2 and pixverse_fake.jobs_created == 1
    assert len(pixverse_fake.uploads) == 1, "the image is not uploaded again either"


async def test_resumes_a_stored_video_without_generating(pixverse_fake, ctx, request_, tmp_path):
    pixverse_fake.polls_to_finish = 1000
    with pytest.raises(TaskDeadlineError) as caught:
        await backend(pixverse_fake, poll_deadline=1, poll_interval=0.05).clip(request_, tmp_path / "a.mp4", ctx)
    (video_id,) = pixverse_fake.jobs
    assert str(video_id) in caught.value.message and ctx.task is not None
    pixverse_fake.polls_to_finish = 1
    pixverse_fake.jobs[video_id]["polls"] = 0
    await backend(pixverse_fake).clip(request_, tmp_path / "b.mp4", ctx)
    assert pixverse_fake.generate_calls == 1 and ctx.paid == ["pixverse"]


@pytest.mark.parametrize(("outcome", "error"), [(7, ContentRejectedError), (8, TaskFailedError)])
async def test_moderation_and_failure_fail_the_shot_and_forget_the_task(pixverse_fake, ctx, request_, tmp_path,
                                                                          outcome, error):
    pixverse_fake.outcomes.append(outcome)
    with pytest.raises(error) as caught:
        await backend(pixverse_fake).clip(request_, tmp_path / "d.mp4", ctx)
    if outcome == 7:
        assert caught.value.message == "content moderation rejected this prompt: edit the shot's detail"
    assert ctx.task is None


async def test_concurrency_limit_is_transient_and_retried_with_a_new_trace_id(pixverse_fake, ctx, request_, tmp_path):
    pixverse_fake.faults.add(GENERATE, Fault(status=200, body={"ErrCode": 500044, "ErrMsg": "Reached the limit",
                                                               "Resp": {}}))
    pv, errors = backend(pixverse_fake), []
    await with_retries(lambda: pv.clip(request_, tmp_path / "e.mp4", ctx), make_settings().retry,
                       on_retry=lambda attempt, exc, delay: errors.append(exc))
    assert len(errors) == 1 and isinstance(errors[0], TransientError) and "max_concurrency" in str(errors[0])
    traces = [r.headers["Ai-trace-id"] for r in pixverse_fake.requests_to("POST", "/openapi/v2/video/img/generate")]
    assert len(traces) == 2 and traces[0] != traces[1] and pixverse_fake.jobs_created == 1


async def test_business_errors_arrive_as_http_200(pixverse_fake, ctx, request_, tmp_path):
    with pytest.raises(AuthError) as caught:
        await backend(pixverse_fake, api_key="pv-wrong-key-000").clip(request_, tmp_path / "f.mp4", ctx)
    assert "PIXVERSE_API_KEY" in str(caught.value)


@pytest.mark.parametrize("fault", [Fault(status=502, body="bad gateway"), Fault(drop=True),
                                   Fault(status=200, body={"ErrCode": 500069, "ErrMsg": "busy", "Resp": {}})],
                         ids=["502", "reset", "high-load"])
async def test_transient_poll_faults_resume_without_generating_again(pixverse_fake, ctx, request_, tmp_path, fault):
    pixverse_fake.faults.add(RESULT, fault)
    pv = backend(pixverse_fake)
    await with_retries(lambda: pv.clip(request_, tmp_path / "g.mp4", ctx), make_settings().retry)
    assert pixverse_fake.generate_calls == 1


def test_duration_follows_the_model():
    settings = make_settings(pixverse={"api_key": "pv-x-123456"})
    assert PixVerseVideo(settings).duration_for(3.0) == 5 and PixVerseVideo(settings).duration_for(12) == 8
    assert PixVerseVideo(make_settings(pixverse={"model": "v6"})).duration_for(6.2) == 7
    assert PixVerseVideo(make_settings(pixverse={"quality": "1080p"})).duration_for(7) == 5
