"""The Ollama storyboard backend against the Ollama fake: schema `format`, re-asking, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2v_tui.backends.base import StoryboardRequest
from s2v_tui.backends.llm_storyboard import STORYBOARD_SCHEMA
from s2v_tui.backends.ollama.storyboard import OllamaStoryboard, create, server_url
from s2v_tui.domain.errors import BackendError, TransientError
from tests.backends.local_helpers import RecordingContext
from tests.conftest import STORY_ZH, make_settings
from tests.fakes.ollama import OllamaFake, default_reply

pytestmark = pytest.mark.timeout(30)

REQUEST = StoryboardRequest(script=STORY_ZH, style="水彩", language="zh")
SHOT = {"sequence": 1, "subject": "灯塔", "detail": "水彩，夜晚的灯塔", "narration": "夜晚，灯塔亮了。",
        "camera": "镜头推进", "tone": "平静"}


@pytest.fixture
def ollama():  # type: ignore[no-untyped-def]
    with OllamaFake() as server:
        yield server


def backend_for(url: str, **ollama: object) -> OllamaStoryboard:
    return create(make_settings(ollama={"url": url, **ollama}))


async def test_valid_answer_with_the_schema_as_format(ollama: OllamaFake, tmp_path: Path) -> None:
    backend = backend_for(ollama.url, think=False)
    try:
        drafts = await backend.storyboard(REQUEST, RecordingContext(tmp_path))
    finally:
        await backend.aclose()
    assert len(drafts) == 6 and all(d.narration for d in drafts)
    [call] = ollama.calls
    assert call["endpoint"] == "chat" and call["model"] == "qwen3" and call["stream"] is False
    assert call["format"] == STORYBOARD_SCHEMA
    assert call["options"]["num_ctx"] == 8192 and call["body"]["think"] is False
    assert call["messages"][0]["role"] == "system" and STORY_ZH in call["messages"][1]["content"]


async def test_invalid_answer_is_corrected_on_the_next_round(ollama: OllamaFake, tmp_path: Path) -> None:
    ollama.responses.extend(['{"shots": [', json.dumps({"shots": [SHOT]}, ensure_ascii=False)])
    backend = backend_for(ollama.url)
    ctx = RecordingContext(tmp_path)
    try:
        drafts = await backend.storyboard(REQUEST, ctx)
    finally:
        await backend.aclose()
    assert [d.subject for d in drafts] == ["灯塔"]
    assert len(ollama.calls) == 2
    retry = ollama.calls[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"shots": ['}
    assert "不符合要求" in retry[-1]["content"]
    assert any(level == "warning" and "rejected" in message for level, message in ctx.logs)


async def test_schema_violating_answers_fail_after_the_last_round(ollama: OllamaFake, tmp_path: Path) -> None:
    violating = json.dumps({"shots": [{**SHOT, "camera": "zoom into the moon"}]}, ensure_ascii=False)
    missing = json.dumps({"shots": [{k: v for k, v in SHOT.items() if k != "narration"}]}, ensure_ascii=False)
    ollama.responses.extend([violating, missing, violating])
    backend = backend_for(ollama.url)
    try:
        with pytest.raises(BackendError) as caught:
            await backend.storyboard(REQUEST, RecordingContext(tmp_path))
    finally:
        await backend.aclose()
    assert not isinstance(caught.value, TransientError)
    assert "after 3 tries" in caught.value.message and "camera" in caught.value.message
    assert len(ollama.calls) == 3 and "narration" in ollama.calls[2]["messages"][-1]["content"]


async def test_missing_model_says_which_pull_fixes_it(ollama: OllamaFake, tmp_path: Path) -> None:
    backend = backend_for(ollama.url, model="llama9")
    try:
        with pytest.raises(BackendError) as caught:
            await backend.storyboard(REQUEST, RecordingContext(tmp_path))
    finally:
        await backend.aclose()
    assert not isinstance(caught.value, TransientError)
    assert "llama9" in caught.value.message and "not found" in caught.value.message
    assert caught.value.hint and "ollama pull llama9" in caught.value.hint


async def test_seed_style_url_server_errors_and_thinking(ollama: OllamaFake, tmp_path: Path) -> None:
    assert server_url(f"{ollama.url}/api/generate") == ollama.url
    assert server_url("localhost:11434/api/chat/") == "http://localhost:11434"
    backend = backend_for(f"{ollama.url}/api/generate")
    ollama.error_mid_stream_next = "llama runner process has terminated"
    ollama.responses.append("<think>the user wants shots</think>" + default_reply(STORY_ZH))
    try:
        with pytest.raises(TransientError, match="llama runner process has terminated"):
            await backend.storyboard(REQUEST, RecordingContext(tmp_path))
        drafts = await backend.storyboard(REQUEST, RecordingContext(tmp_path))
    finally:
        await backend.aclose()
    assert len(drafts) == 6 and {c["endpoint"] for c in ollama.calls} == {"chat"}


async def test_unreachable_server_is_transient_with_a_hint(tmp_path: Path) -> None:
    with OllamaFake() as server:
        url = server.url
    backend = backend_for(url)
    try:
        with pytest.raises(TransientError) as caught:
            await backend.storyboard(REQUEST, RecordingContext(tmp_path))
    finally:
        await backend.aclose()
    assert "could not be reached" in caught.value.message
    assert caught.value.hint and "ollama serve" in caught.value.hint
