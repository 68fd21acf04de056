"""Storyboards from DashScope Qwen (real SDK) and the OpenAI-compatible backend, against the fake."""

from __future__ import annotations

import json

import httpx
import pytest

from s2v_tui.backends.base import StoryboardRequest
from s2v_tui.backends.dashscope.storyboard import DashScopeStoryboard
from s2v_tui.backends.openai_compat.storyboard import OpenAICompatStoryboard
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError, TransientError
from tests.backends.conftest import dashscope_settings
from tests.conftest import make_settings
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(30)

NATIVE = "POST /api/v1/services/aigc/text-generation/generation"
COMPAT = "POST /compatible-mode/v1/chat/completions"
REQUEST = StoryboardRequest(script="夜晚，海边的小镇下起了雪。老人提着红灯笼走上山顶。渔船看见了光，回到港口。",
                            style="水彩插画", language="zh")


def shots_json(n: int = 3, narration: str = "夜晚的小镇下起了雪。") -> str:
    return json.dumps({"shots": [{"sequence": i + 1, "subject": "小镇", "detail": f"水彩插画，第{i + 1}幕",
                                  "narration": narration, "camera": "镜头推进", "tone": "平静"} for i in range(n)]},
                      ensure_ascii=False)


def backends(fake, **dashscope):
    settings = dashscope_settings(fake, **dashscope)
    yield "native", DashScopeStoryboard(settings.dashscope), NATIVE
    yield "compat", OpenAICompatStoryboard(settings), COMPAT


@pytest.fixture(params=["native", "compat"])
def kind(request):
    return request.param


def pick(fake, kind, **dashscope):
    return next((b, route) for name, b, route in backends(fake, **dashscope) if name == kind)


async def test_json_mode_storyboard(dashscope_fake, ctx, kind):
    backend, _ = pick(dashscope_fake, kind)
    dashscope_fake.llm_responses.append(shots_json())
    drafts = await backend.storyboard(REQUEST, ctx)
    assert [d.narration for d in drafts] == ["夜晚的小镇下起了雪。"] * 3
    call = dashscope_fake.chat_calls[0]
    assert call["endpoint"] == ("native" if kind == "native" else "compatible")
    assert call["parameters"]["response_format"] == {"type": "json_object"}
    assert ctx.paid == ["dashscope"]


async def test_invalid_json_is_sent_back_and_too_long_narration_reasked_not_cut(dashscope_fake, ctx, kind):
    backend, _ = pick(dashscope_fake, kind)
    dashscope_fake.llm_responses.extend(["not json at all", shots_json(narration="长" * 200), shots_json()])
    drafts = await backend.storyboard(REQUEST, ctx)
    assert len(drafts) == 3 and all("…" not in d.narration for d in drafts)
    assert len(dashscope_fake.chat_calls) == 3
    last_messages = dashscope_fake.chat_calls[2]["messages"]
    assert "narration too long" in last_messages[-1]["content"]


async def test_bad_key_is_an_auth_error_naming_the_variable(dashscope_fake, ctx, kind):
    backend, _ = pick(dashscope_fake, kind, key="sk-wrong-key-1234")
    with pytest.raises(AuthError) as caught:
        await backend.storyboard(REQUEST, ctx)
    assert "DASHSCOPE_API_KEY" in str(caught.value)


@pytest.mark.parametrize("fault", [
    Fault(status=429, body={"code": "Throttling.RateQuota", "message": "slow down"}),
    Fault(status=500, body={"code": "InternalError", "message": "boom"}),
    Fault(drop=True),
    None,
], ids=["429", "500", "reset", "timeout"])
async def test_transient_faults(dashscope_fake, ctx, kind, fault):
    backend, route = pick(dashscope_fake, kind, request_timeout=1)
    if kind == "compat":
        backend._clients = type(backend._clients)(lambda: httpx.AsyncClient(timeout=1.0))
    if fault is None:  # answer just after the client gave up (native: 3 × request_timeout for a storyboard)
        fault = Fault(delay=3.2 if kind == "native" else 1.2)
    for _ in range(2):  # requests' connection pool resends once on a dropped connection
        dashscope_fake.faults.add(route, fault)
    with pytest.raises(TransientError):
        await backend.storyboard(REQUEST, ctx)


async def test_moderation_names_the_script(dashscope_fake, ctx, kind):
    backend, route = pick(dashscope_fake, kind)
    body = ({"code": "DataInspectionFailed", "message": "Input data may contain inappropriate content."}
            if kind == "native" else {"error": {"message": "Input data may contain inappropriate content.",
                                                "type": "data_inspection_failed", "code": "data_inspection_failed"}})
    dashscope_fake.faults.add(route, Fault(status=400, body=body))
    with pytest.raises(ContentRejectedError, match="the script"):
        await backend.storyboard(REQUEST, ctx)


async def test_gives_up_with_the_last_problem_after_three_rounds(dashscope_fake, ctx, kind):
    backend, _ = pick(dashscope_fake, kind)
    dashscope_fake.llm_responses.extend(['{"shots": []}'] * 3)
    with pytest.raises(BackendError, match="valid storyboard"):
        await backend.storyboard(REQUEST, ctx)


async def test_compat_defaults_to_dashscope_compatible_mode_of_the_region():
    settings = make_settings(dashscope={"region": "singapore", "api_key": "sk-test-fake-sg"})
    backend = OpenAICompatStoryboard(settings)
    assert backend.base_url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert backend.info.paid_provider == "dashscope"


async def test_compat_local_server_needs_no_key(ctx):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": shots_json(2)}, "finish_reason": "stop"}]})

    settings = make_settings(openai_compat={"base_url": "http://127.0.0.1:8000/v1", "model": "qwen2.5-7b"})
    backend = OpenAICompatStoryboard(settings, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    drafts = await backend.storyboard(REQUEST, ctx)
    assert len(drafts) == 2 and "authorization" not in seen[0].headers
    assert backend.info.paid_provider is None and ctx.paid == []
