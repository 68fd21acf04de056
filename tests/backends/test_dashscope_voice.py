"""CosyVoice through the real `dashscope.audio.tts_v2` SDK, against the fake's WebSocket."""

from __future__ import annotations

import wave

import pytest

from s2v_tui.backends.base import VoiceRequest
from s2v_tui.backends.dashscope.voice import DashScopeVoice, pcm_rate_for, word_timings
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError, TransientError
from tests.backends.conftest import dashscope_settings

pytestmark = pytest.mark.timeout(30)

TEXT = "夜晚，海边的小镇下起了雪。"


def voice_request(text: str = TEXT, sample_rate: int = 44100, voice: str | None = None) -> VoiceRequest:
    return VoiceRequest(text=text, language="zh", voice=voice, rate=1.2, sample_rate=sample_rate)


async def test_writes_mono_wav_at_the_project_rate_with_word_timings(dashscope_fake, ctx, tmp_path):
    out = tmp_path / "voice.wav"
    result = await DashScopeVoice(dashscope_settings(dashscope_fake).dashscope).speak(voice_request(), out, ctx)
    with wave.open(str(out)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (44100, 1, 2)
        assert wav.getnframes() / 44100 == pytest.approx(result.duration, abs=0.01)
    assert result.duration == pytest.approx(2.2, abs=0.05)  # the fake speaks 200 ms per character
    assert result.timings[0].char_start == 0 and result.timings[1].char_start == 1  # "，" at 2 is skipped
    assert result.timings[2].char_start == 3 and result.timings[2].start == pytest.approx(0.4)
    task = dashscope_fake.tts_tasks[0]
    assert task["model"] == "cosyvoice-v2" and task["parameters"]["voice"] == "longxiaochun_v2"
    assert task["parameters"]["format"] == "pcm" and task["parameters"]["rate"] == 1.2
    assert ctx.paid == ["dashscope"]


async def test_project_voice_overrides_the_default(dashscope_fake, ctx, tmp_path):
    await DashScopeVoice(dashscope_settings(dashscope_fake).dashscope).speak(
        voice_request(voice="longwan_v2", sample_rate=16000), tmp_path / "v.wav", ctx)
    assert dashscope_fake.tts_tasks[0]["parameters"]["voice"] == "longwan_v2"
    assert dashscope_fake.tts_tasks[0]["parameters"]["sample_rate"] == 16000


async def test_voice_of_another_model_says_what_to_fix(dashscope_fake, ctx, tmp_path):
    with pytest.raises(BackendError) as caught:
        await DashScopeVoice(dashscope_settings(dashscope_fake).dashscope).speak(
            voice_request(voice="longanyang"), tmp_path / "v.wav", ctx)
    assert "longanyang" in (caught.value.hint or "") and not isinstance(caught.value, TransientError)


@pytest.mark.parametrize(("code", "error"), [
    ("Throttling.RateQuota", TransientError), ("InternalError", TransientError),
    ("DataInspectionFailed", ContentRejectedError), ("InvalidApiKey", AuthError),
])
async def test_task_failures_are_mapped(dashscope_fake, ctx, tmp_path, code, error):
    dashscope_fake.tts_fail_next = (code, "something happened")
    with pytest.raises(error):
        await DashScopeVoice(dashscope_settings(dashscope_fake).dashscope).speak(voice_request(), tmp_path / "v.wav", ctx)
    assert ctx.paid == []


async def test_rejected_handshake_is_an_auth_error(dashscope_fake, ctx, tmp_path):
    backend = DashScopeVoice(dashscope_settings(dashscope_fake, key="sk-wrong-key-5678").dashscope)
    with pytest.raises(AuthError) as caught:  # the SDK waits 5 s for a connection before giving up
        await backend.speak(voice_request(), tmp_path / "v.wav", ctx)
    assert "DASHSCOPE_API_KEY" in str(caught.value)


def test_pcm_rate_and_multi_sentence_timings():
    assert pcm_rate_for(44100) == 44100 and pcm_rate_for(32000) == 44100 and pcm_rate_for(96000) == 48000
    text = "第一句。第二句。"
    sentences = [{"original_text": "第一句。", "words": [{"begin_index": 0, "begin_time": 0},
                                                        {"begin_index": 1, "begin_time": 200}]},
                 {"original_text": "第二句。", "words": [{"begin_index": 0, "begin_time": 900},
                                                        {"begin_index": 2, "begin_time": 1300}]}]
    assert [(t.char_start, t.start) for t in word_timings(text, sentences)] == [(0, 0.0), (1, 0.2), (4, 0.9), (6, 1.3)]
