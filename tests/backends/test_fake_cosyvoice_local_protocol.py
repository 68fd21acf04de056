"""Fidelity tests for `tests.fakes.cosyvoice_local.CosyVoiceLocalFake` (the seed's `POST /v1/tts`), via httpx."""

from __future__ import annotations

import base64
import io
import wave

import av
import httpx
import pytest

from tests.fakes.cosyvoice_local import CosyVoiceLocalFake, duration_for
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)

TEXT = "老人提着红灯笼走上山顶"  # 11 CJK chars → 2.42 s


@pytest.fixture
def tts():
    with CosyVoiceLocalFake() as server:
        yield server


def post(server: CosyVoiceLocalFake, **body: object) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/tts", json={"text": TEXT, "speaker": "xiaoyue", "speed": 1.0, **body},
                      timeout=10)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 22050 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getnframes() / w.getframerate()


def test_duration_rule() -> None:
    assert duration_for(TEXT) == pytest.approx(2.42)
    assert duration_for("The boats came home") == pytest.approx(1.4)
    assert duration_for("好") == 0.5
    assert duration_for(TEXT, speed=2.0) == pytest.approx(1.21)


def test_wav_default(tts: CosyVoiceLocalFake) -> None:
    rsp = post(tts, style="平静")
    assert rsp.status_code == 200 and rsp.headers["content-type"] == "audio/wav"
    assert wav_seconds(rsp.content) == pytest.approx(2.42, abs=0.05)
    assert tts.calls[0]["speaker"] == "xiaoyue" and tts.calls[0]["style"] == "平静" and tts.calls[0]["mode"] == "wav"


def test_mp3_mode(tts: CosyVoiceLocalFake) -> None:
    tts.mode = "mp3"
    rsp = post(tts)
    assert rsp.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(rsp.content)) as container:
        assert container.streams.audio[0].codec_context.name.startswith("mp3")
        assert float(container.duration / 1_000_000) == pytest.approx(2.42, abs=0.1)


def test_json_b64_mode(tts: CosyVoiceLocalFake) -> None:
    tts.modes.append("json_b64")
    body = post(tts).json()
    assert body["sample_rate"] == 22050
    assert wav_seconds(base64.b64decode(body["audio"])) == pytest.approx(2.42, abs=0.05)
    assert post(tts).headers["content-type"] == "audio/wav"  # modes are consumed, then `mode` applies


def test_html_error_and_garbage_modes(tts: CosyVoiceLocalFake) -> None:
    tts.modes.extend(["html_error", "garbage"])
    html = post(tts)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert b"<html" in html.content
    garbage = post(tts)
    assert garbage.status_code == 200 and garbage.headers["content-type"] == "audio/wav"
    with pytest.raises(wave.Error), wave.open(io.BytesIO(garbage.content)):
        pass


def test_bad_requests(tts: CosyVoiceLocalFake) -> None:
    rsp = post(tts, text="  ")
    assert rsp.status_code == 400 and "error" in rsp.json()
    assert httpx.post(f"{tts.url}/v1/tts", content=b"nope").status_code == 400
    assert tts.calls == []
    tts.faults.add("POST /v1/tts", Fault(status=503, body={"error": "busy"}))
    assert post(tts).status_code == 503
