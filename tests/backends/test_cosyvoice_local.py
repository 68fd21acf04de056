"""The self-hosted CosyVoice backend against its fake: every response mode, and the bad answers it rejects."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from s2v_tui.backends.base import VoiceRequest
from s2v_tui.backends.cosyvoice.voice import LocalCosyVoice, create, sniff_suffix
from s2v_tui.domain.errors import BackendError, ConfigError, TransientError
from tests.backends.local_helpers import RecordingContext
from tests.conftest import make_settings
from tests.fakes.cosyvoice_local import CosyVoiceLocalFake, duration_for
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(30)

TEXT = "夜晚，海边的小镇下起了雪。"


def voice_request(text: str = TEXT, **changes: object) -> VoiceRequest:
    fields: dict[str, object] = {"text": text, "language": "zh", "voice": None, "rate": 1.0,
                                 "sample_rate": 44100, "tone": "平静", **changes}
    return VoiceRequest(**fields)  # type: ignore[arg-type]


def backend_for(fake: CosyVoiceLocalFake, **cosyvoice: object) -> LocalCosyVoice:
    return create(make_settings(cosyvoice={"url": f"{fake.url}/v1/tts", **cosyvoice}))


async def speak(backend: LocalCosyVoice, tmp_path: Path, request: VoiceRequest | None = None):  # type: ignore[no-untyped-def]
    out = tmp_path / "voice.wav"
    try:
        result = await backend.speak(request or voice_request(), out, RecordingContext(tmp_path / "work"))
    finally:
        await backend.aclose()
    return result, out


@pytest.mark.parametrize(("mode", "response"), [("wav", "audio"), ("mp3", "audio"), ("json_b64", "json_base64")])
async def test_each_response_mode_becomes_a_normalised_wav(tmp_path: Path, mode: str, response: str) -> None:
    with CosyVoiceLocalFake(mode=mode) as fake:
        result, out = await speak(backend_for(fake, response=response), tmp_path)
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 44100)
        assert wav.getnframes() / 44100 == pytest.approx(result.duration, abs=0.01)
    assert result.duration == pytest.approx(duration_for(TEXT), abs=0.08)
    assert result.timings == [], "no word timings: the engine spreads subtitle cues evenly"
    [call] = fake.calls
    assert call["body"] == {"text": TEXT, "speaker": "xiaoyue", "speed": 1.0, "style": "平静"}


async def test_project_voice_and_rate_reach_the_server(tmp_path: Path) -> None:
    with CosyVoiceLocalFake() as fake:
        result, _ = await speak(backend_for(fake), tmp_path, voice_request(voice="longxiaochun", rate=1.5, tone=""))
    assert fake.calls[0]["body"] == {"text": TEXT, "speaker": "longxiaochun", "speed": 1.5}
    assert result.duration == pytest.approx(duration_for(TEXT, 1.5), abs=0.08)


async def test_html_error_page_is_rejected_with_what_came_back(tmp_path: Path) -> None:
    with CosyVoiceLocalFake(mode="html_error") as fake, pytest.raises(BackendError) as caught:
        await speak(backend_for(fake), tmp_path)
    assert not isinstance(caught.value, TransientError)
    assert "returned no audio" in caught.value.message and "text/html" in caught.value.message
    assert "502 Bad Gateway" in caught.value.message and caught.value.hint and "COSYVOICE_URL" in caught.value.hint
    assert not (tmp_path / "voice.wav").exists()


async def test_garbage_bytes_labelled_audio_are_rejected(tmp_path: Path) -> None:
    with CosyVoiceLocalFake(mode="garbage") as fake, pytest.raises(TransientError, match="not audio"):
        await speak(backend_for(fake), tmp_path)
    assert not (tmp_path / "voice.wav").exists()


@pytest.mark.filterwarnings("ignore:Couldn't find ffprobe")
async def test_truncated_wav_fails_to_decode(tmp_path: Path) -> None:
    with CosyVoiceLocalFake() as fake:
        fake.faults.add("POST /v1/tts", Fault(status=200, body=b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 6,
                                              headers={"Content-Type": "audio/wav"}))
        with pytest.raises(TransientError, match="broken wav audio"):
            await speak(backend_for(fake), tmp_path)


async def test_json_mode_rejects_audio_and_missing_field(tmp_path: Path) -> None:
    with CosyVoiceLocalFake(mode="wav") as fake, pytest.raises(BackendError, match="did not answer JSON"):
        await speak(backend_for(fake, response="json_base64"), tmp_path)
    with CosyVoiceLocalFake(mode="json_b64") as fake, pytest.raises(BackendError, match="without a 'data.audio' field"):
        await speak(backend_for(fake, response="json_base64", audio_field="data.audio"), tmp_path)


async def test_server_errors_keep_the_servers_message(tmp_path: Path) -> None:
    with CosyVoiceLocalFake() as fake:
        fake.faults.add("POST /v1/tts", Fault(status=400, body={"error": "speaker 'nobody' is not registered"}),
                        Fault(status=503, body="model loading"))
        with pytest.raises(BackendError, match="speaker 'nobody' is not registered") as caught:
            await speak(backend_for(fake), tmp_path)
        assert not isinstance(caught.value, TransientError)
        with pytest.raises(TransientError, match="model loading"):
            await speak(backend_for(fake), tmp_path)


def test_needs_a_url_and_sniffs_audio_types() -> None:
    with pytest.raises(ConfigError, match="COSYVOICE_URL"):
        create(make_settings())
    assert sniff_suffix(b"ID3\x04") == ".mp3" and sniff_suffix(b"OggS\x00") == ".ogg"
    assert sniff_suffix(b"<html>") is None
