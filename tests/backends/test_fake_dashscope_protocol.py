"""Fidelity tests for `tests.fakes.dashscope.DashScopeFake`: they drive the REAL dashscope 2.0.2 SDK.

If one of these fails after an SDK upgrade, the fake (or protocols.md) needs updating, not the SDK.
Polling uses `fetch()` loops (the SDK's `wait()` sleeps >= 1 s per poll).
"""

from __future__ import annotations

import base64
import io
import json
import wave

import av
import dashscope
import httpx
import oss2
import pytest
import websocket
from dashscope import Generation, ImageSynthesis, MultiModalConversation, VideoSynthesis
from dashscope.audio.tts_v2 import AudioFormat, ResultCallback, SpeechSynthesizer
from dashscope.common.error import RequestFailure
from PIL import Image

from tests.fakes.dashscope import DashScopeFake
from tests.fakes.dashscope_rules import CAMERAS
from tests.fakes.media import png_bytes
from tests.fakes.oss import OssFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)

GEN_ROUTE = "POST /api/v1/services/aigc/text-generation/generation"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    server = DashScopeFake(polls_to_finish=2).start()
    monkeypatch.setattr(dashscope, "base_http_api_url", server.base_url)
    monkeypatch.setattr(dashscope, "base_websocket_api_url", server.ws_base_url)
    monkeypatch.setattr(dashscope, "api_key", server.api_key)
    yield server
    server.stop()


def _poll(api, task_id: str, max_polls: int = 5):
    for _ in range(max_polls):
        rsp = api.fetch(task_id)
        assert rsp.status_code == 200, (rsp.code, rsp.message)
        if rsp.output.task_status not in ("PENDING", "RUNNING"):
            return rsp
    raise AssertionError("task did not finish")


def _png_data_uri(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height, 7)).decode()


def _video_dims(data: bytes) -> tuple[int, int, float]:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return s.codec_context.width, s.codec_context.height, float(c.duration or 0) / av.time_base


def _audio_seconds(data: bytes) -> tuple[float, int]:
    with av.open(io.BytesIO(data)) as c:
        samples, rate = 0, c.streams.audio[0].codec_context.sample_rate
        for frame in c.decode(audio=0):
            samples += frame.samples
    return samples / rate, rate


# -- text generation -----------------------------------------------------------------------------
def test_generation_json_mode_returns_valid_storyboard(fake: DashScopeFake) -> None:
    rsp = Generation.call(model="qwen-plus", result_format="message", response_format={"type": "json_object"},
                          messages=[{"role": "system", "content": "只输出 JSON"},
                                    {"role": "user", "content": "style:水彩:小猫在雨夜找家。它遇到一只老狗！"}])
    assert rsp.status_code == 200 and rsp.request_id
    shots = json.loads(rsp.output.choices[0].message.content)["shots"]
    assert [s["sequence"] for s in shots] == [1, 2, 3, 4, 5, 6]
    assert all(s["camera"] in CAMERAS and len(s["narration"]) <= 30 and s["subject"] for s in shots)
    assert rsp.usage.total_tokens > 0
    assert fake.chat_calls[0]["endpoint"] == "native"
    assert fake.chat_calls[0]["parameters"]["response_format"] == {"type": "json_object"}


def test_generation_json_mode_without_the_word_json_is_400(fake: DashScopeFake) -> None:
    rsp = Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "hi"}],
                          result_format="message", response_format={"type": "json_object"})
    assert rsp.status_code == 400 and rsp.code == "InvalidParameter"
    assert "must contain the word 'json'" in rsp.message
    assert rsp.output is None and fake.chat_calls == []


def test_generation_scripted_reply_text_format_and_stream(fake: DashScopeFake) -> None:
    fake.llm_responses.extend(["scripted one", "scripted two"])
    rsp = Generation.call(model="qwen-max", prompt="hello", result_format="text")
    assert rsp.status_code == 200 and rsp.output.text == "scripted one"
    chunks = list(Generation.call(model="qwen-max", messages=[{"role": "user", "content": "x"}],
                                  result_format="message", stream=True, incremental_output=True))
    assert all(c.status_code == 200 for c in chunks)
    assert "".join(c.output.choices[0].message.content for c in chunks) == "scripted two"


def test_bad_api_key_is_401_invalid_api_key(fake: DashScopeFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashscope, "api_key", "sk-wrong")
    rsp = Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
    assert (rsp.status_code, rsp.code, rsp.message) == (401, "InvalidApiKey", "Invalid API-key provided.")


def test_throttle_fault_surfaces_429(fake: DashScopeFake) -> None:
    body = {"request_id": "r-1", "code": "Throttling.RateQuota",
            "message": "Requests rate limit exceeded, please try again later."}
    fake.faults.add(GEN_ROUTE, Fault(429, body))
    rsp = Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "hi"}])
    assert (rsp.status_code, rsp.code) == (429, "Throttling.RateQuota")
    assert Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "hi"}]).status_code == 200


def test_compatible_mode_with_httpx(fake: DashScopeFake) -> None:
    url = f"{fake.compatible_url}/chat/completions"
    payload = {"model": "qwen-plus", "response_format": {"type": "json_object"},
               "messages": [{"role": "user", "content": "Write the storyboard as JSON: 一只猫"}]}
    ok = httpx.post(url, json=payload, headers={"Authorization": f"Bearer {fake.api_key}"})
    assert ok.status_code == 200 and ok.json()["object"] == "chat.completion"
    assert len(json.loads(ok.json()["choices"][0]["message"]["content"])["shots"]) == 6
    bad = httpx.post(url, json=payload, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    payload["messages"] = [{"role": "user", "content": "no keyword"}]
    missing = httpx.post(url, json=payload, headers={"Authorization": f"Bearer {fake.api_key}"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_parameter_error"
    assert [c["endpoint"] for c in fake.chat_calls] == ["compatible"]


# -- images --------------------------------------------------------------------------------------
def test_qwen_image_sync_returns_png_of_requested_size(fake: DashScopeFake) -> None:
    rsp = MultiModalConversation.call(model="qwen-image-plus", size="928*1664", n=1, prompt_extend=True,
                                      watermark=False, negative_prompt="",
                                      messages=[{"role": "user", "content": [{"text": "a cat"}]}])
    assert rsp.status_code == 200
    url = rsp.output.choices[0].message.content[0]["image"]
    assert (rsp.usage.width, rsp.usage.height) == (928, 1664)
    assert Image.open(io.BytesIO(httpx.get(url).content)).size == (928, 1664)


def test_qwen_image_sync_rejects_a_free_size(fake: DashScopeFake) -> None:
    rsp = MultiModalConversation.call(model="qwen-image", size="1024*1024",
                                      messages=[{"role": "user", "content": [{"text": "a cat"}]}])
    assert (rsp.status_code, rsp.code) == (400, "InvalidParameter")


def test_image_synthesis_async_then_fetch(fake: DashScopeFake) -> None:
    sub = ImageSynthesis.async_call(model="qwen-image-plus", prompt="a cat", negative_prompt="blurry",
                                    size="1664*928", n=1)
    assert sub.status_code == 200 and sub.output.task_status == "PENDING"
    first = ImageSynthesis.fetch(sub.output.task_id)
    assert first.output.task_status == "RUNNING"
    done = _poll(ImageSynthesis, sub.output.task_id)
    assert done.output.task_status == "SUCCEEDED" and done.usage.image_count == 1
    png = httpx.get(done.output.results[0].url).content
    assert Image.open(io.BytesIO(png)).size == (1664, 928)
    assert fake.submits[0]["body"]["input"]["negative_prompt"] == "blurry"
    assert fake.polls[sub.output.task_id] == 2


def test_image_synthesis_rules(fake: DashScopeFake) -> None:
    bad = ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="a cat", size="2000*512")
    assert (bad.status_code, bad.code) == (400, "InvalidParameter")
    sync = ImageSynthesis.sync_call(model="wan2.2-t2i-flash", prompt="a cat", size="1024*768")
    assert (sync.status_code, sync.code) == (403, "AccessDenied")
    ok = ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="a cat", size="768*1024", n=2)
    done = _poll(ImageSynthesis, ok.output.task_id)
    assert len(done.output.results) == 2


def test_failed_outcome_surfaces_code_and_message(fake: DashScopeFake) -> None:
    fake.task_outcomes.append({"status": "FAILED", "code": "DataInspectionFailed",
                               "message": "Output data may contain inappropriate content."})
    sub = ImageSynthesis.async_call(model="qwen-image", prompt="x")
    done = _poll(ImageSynthesis, sub.output.task_id)
    assert done.output.task_status == "FAILED"
    assert done.output.code == "DataInspectionFailed" and "inappropriate" in done.output.message


def test_unknown_task_and_task_poll_fault(fake: DashScopeFake) -> None:
    assert VideoSynthesis.fetch("no-such-task").output.task_status == "UNKNOWN"
    fake.faults.add("GET /api/v1/tasks/{id}", Fault(500, {"code": "InternalError", "message": "boom"}))
    rsp = VideoSynthesis.fetch("no-such-task")
    assert (rsp.status_code, rsp.code) == (500, "InternalError")


def test_truncated_downloads(fake: DashScopeFake) -> None:
    rsp = MultiModalConversation.call(model="qwen-image", messages=[{"role": "user", "content": [{"text": "x"}]}])
    url = rsp.output.choices[0].message.content[0]["image"]
    fake.truncate_next_downloads = 1  # "cut": Content-Length promises more than arrives
    got, promised = b"", 0
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)), httpx.stream("GET", url) as r:
        promised = int(r.headers["Content-Length"])
        for chunk in r.iter_bytes():
            got += chunk
    assert 0 < len(got) < promised
    fake.truncate_next_downloads, fake.truncate_mode = 1, "short"  # honest length, broken PNG
    with pytest.raises(OSError):
        Image.open(io.BytesIO(httpx.get(url).content)).load()
    Image.open(io.BytesIO(httpx.get(url).content)).load()  # back to normal


# -- video ---------------------------------------------------------------------------------------
def test_video_from_data_uri(fake: DashScopeFake) -> None:
    sub = VideoSynthesis.async_call(model="wan2.2-i2v-flash", prompt="the cat walks", resolution="480P",
                                    duration=5, img_url=_png_data_uri(480, 848))
    assert sub.status_code == 200, sub.message
    done = _poll(VideoSynthesis, sub.output.task_id)
    assert done.output.task_status == "SUCCEEDED" and done.usage.video_duration == 5
    assert done.usage.video_ratio == "480*848"
    w, h, seconds = _video_dims(httpx.get(done.output.video_url).content)
    assert h > w and 1.5 <= seconds <= 2.5
    assert fake.submits[0]["body"]["input"]["extend_prompt"] is True


def test_video_from_presigned_oss_url(fake: DashScopeFake) -> None:
    with OssFake() as oss:
        bucket = oss2.Bucket(oss2.Auth(oss.access_key_id, oss.access_key_secret), oss.url, oss.bucket)
        bucket.put_object("frames/shot_01.png", png_bytes(848, 480, 3), headers={"Content-Type": "image/png"})
        good = VideoSynthesis.async_call(model="wan2.5-i2v-preview", prompt="p", duration=10, resolution="720P",
                                         img_url=bucket.sign_url("GET", "frames/shot_01.png", 600))
        expired = VideoSynthesis.async_call(model="wan2.5-i2v-preview", prompt="p", duration=5,
                                            img_url=bucket.sign_url("GET", "frames/shot_01.png", -60))
    ok = _poll(VideoSynthesis, good.output.task_id)
    assert ok.output.task_status == "SUCCEEDED" and ok.usage.video_ratio == "1280*720"
    bad = _poll(VideoSynthesis, expired.output.task_id)
    assert (bad.output.task_status, bad.output.code) == ("FAILED", "InvalidParameter")


def test_video_from_local_file_goes_through_temp_upload(fake: DashScopeFake, tmp_path) -> None:
    path = tmp_path / "frame.png"
    path.write_bytes(png_bytes(480, 848, 1))
    sub = VideoSynthesis.async_call(model="wan2.2-i2v-plus", prompt="p", resolution="480P", duration=5,
                                    img_url=str(path))
    assert sub.status_code == 200, sub.message
    key = next(iter(fake.uploads))
    assert key.startswith("dashscope-instant/") and key.endswith("/frame.png")
    assert fake.submits[0]["body"]["input"]["img_url"] == f"oss://{key}"
    assert _poll(VideoSynthesis, sub.output.task_id).output.task_status == "SUCCEEDED"
    submit = fake.requests_to("POST", "/api/v1/services/aigc/video-generation")[0]
    assert submit.headers["X-DashScope-OssResourceResolve"] == "enable"


def test_video_input_rules(fake: DashScopeFake) -> None:
    bad_duration = VideoSynthesis.async_call(model="wan2.2-i2v-flash", prompt="p", duration=10,
                                             img_url=_png_data_uri(64, 64))
    assert (bad_duration.status_code, bad_duration.code) == (400, "InvalidParameter")
    no_header = httpx.post(
        f"{fake.base_url}/services/aigc/video-generation/video-synthesis",
        headers={"Authorization": f"Bearer {fake.api_key}", "X-DashScope-Async": "enable"},
        json={"model": "wan2.2-i2v-flash", "input": {"prompt": "p", "img_url": "oss://dashscope-instant/x.png"},
              "parameters": {"duration": 5}})
    assert no_header.status_code == 400 and no_header.json()["code"] == "InvalidParameter"
    assert fake.submits == []


# -- CosyVoice -----------------------------------------------------------------------------------
def test_cosyvoice_call_returns_decodable_mp3(fake: DashScopeFake) -> None:
    synth = SpeechSynthesizer(model="cosyvoice-v2", voice="longxiaochun_v2", url=fake.ws_base_url)
    audio = synth.call("你好，世界。")
    seconds, rate = _audio_seconds(audio)
    assert rate == 22050 and abs(seconds - 0.8) < 0.05  # 4 CJK chars x 200 ms
    task = fake.tts_tasks[0]
    assert task["texts"] == ["你好，世界。"] and task["parameters"]["enable_ssml"] is True
    assert task["parameters"]["format"] == "Default"
    assert synth.get_response()["payload"]["usage"]["characters"] == 10


def test_cosyvoice_streaming_events_and_wav(fake: DashScopeFake) -> None:
    events: list[dict] = []
    chunks: list[bytes] = []

    class Collect(ResultCallback):
        def on_event(self, message: str) -> None:
            events.append(json.loads(message))

        def on_data(self, data: bytes) -> None:
            chunks.append(data)

    synth = SpeechSynthesizer(model="cosyvoice-v3-flash", voice="longanyang", url=fake.ws_base_url,
                              format=AudioFormat.WAV_16000HZ_MONO_16BIT, callback=Collect())
    synth.streaming_call("第一句。")
    synth.streaming_call("Hello world.")
    synth.streaming_complete()
    kinds = [e["payload"]["output"]["type"] for e in events]
    assert kinds == ["sentence-begin", "sentence-synthesis", "sentence-end"] * 2 and len(chunks) == 2
    words = events[-1]["payload"]["output"]["sentence"]["words"]
    assert [(w["text"], w["begin_time"], w["end_time"]) for w in words] == [("Hello", 600, 900), ("world", 900, 1200)]
    assert events[2]["payload"]["usage"]["characters"] == 7
    with wave.open(io.BytesIO(chunks[0])) as w:
        assert w.getframerate() == 16000 and w.getnframes() == 16000 * 600 // 1000
    assert len(chunks[1]) == 16000 * 2 * 600 // 1000  # later sentences: raw PCM continuation


def test_cosyvoice_voice_model_mismatch_raises(fake: DashScopeFake) -> None:
    synth = SpeechSynthesizer(model="cosyvoice-v2", voice="longxiaochun", url=fake.ws_base_url)
    with pytest.raises(RequestFailure) as info:
        synth.call("你好")
    assert "InvalidParameter" in str(info.value) and "418" in str(info.value)


def test_cosyvoice_scripted_failure(fake: DashScopeFake) -> None:
    fake.tts_fail_next = ("Throttling.RateQuota", "Requests rate limit exceeded.")
    with pytest.raises(RequestFailure, match="Throttling.RateQuota"):
        SpeechSynthesizer(model="cosyvoice-v2", voice="longxiaochun_v2", url=fake.ws_base_url).call("你好")
    assert fake.tts_fail_next is None


def test_cosyvoice_bad_key_rejected_at_handshake(fake: DashScopeFake) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(fake.ws_base_url, header=["Authorization: Bearer sk-wrong"], timeout=3)
    assert info.value.status_code == 401
