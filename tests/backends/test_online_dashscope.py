"""Against the real DashScope service (cheap calls only). Skipped unless DASHSCOPE_API_KEY is set when
pytest starts (the isolation fixture hides it from the tests themselves, so it is read at import)."""

from __future__ import annotations

import os
import wave

import pytest

from s2v_tui.backends.base import StoryboardRequest, VoiceRequest
from s2v_tui.backends.dashscope.storyboard import DashScopeStoryboard
from s2v_tui.backends.dashscope.voice import DashScopeVoice
from tests.conftest import make_settings

ONLINE_KEY = os.environ.get("DASHSCOPE_API_KEY", "")
ONLINE_REGION = os.environ.get("S2V_ONLINE_REGION", "beijing")

pytestmark = [pytest.mark.online, pytest.mark.timeout(180),
              pytest.mark.skipif(not ONLINE_KEY, reason="DASHSCOPE_API_KEY not set")]


def settings():  # type: ignore[no-untyped-def]
    return make_settings(dashscope={"api_key": ONLINE_KEY, "region": ONLINE_REGION})


async def test_real_qwen_storyboard(ctx):
    request = StoryboardRequest(script="夜晚，海边的小镇下起了雪。老人提着红灯笼走上山顶。渔船看见了光，回到港口。",
                                style="水彩插画", language="zh")
    drafts = await DashScopeStoryboard(settings().dashscope).storyboard(request, ctx)
    assert 1 <= len(drafts) <= 10 and all(d.narration for d in drafts)


async def test_real_cosyvoice(ctx, tmp_path):
    out = tmp_path / "voice.wav"
    result = await DashScopeVoice(settings().dashscope).speak(
        VoiceRequest(text="你好，世界。", language="zh", voice=None, rate=1.0, sample_rate=44100), out, ctx)
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 44100
    assert 0.5 < result.duration < 10
