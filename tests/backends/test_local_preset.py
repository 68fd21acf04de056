"""The LOCAL_INFERENCE=true preset from the seed's environment names builds the local backends."""

from __future__ import annotations

import pytest

from s2v_tui.backends.comfy.backends import ComfyClip, ComfyKeyframe
from s2v_tui.backends.cosyvoice.voice import LocalCosyVoice
from s2v_tui.backends.offline.voice import OfflineVoice
from s2v_tui.backends.ollama.storyboard import OllamaStoryboard
from s2v_tui.backends.registry import BackendSet
from tests.conftest import make_settings


async def test_seed_environment_selects_and_configures_the_local_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_INFERENCE", "true")
    monkeypatch.setenv("COMFY_HOSTS_LIST", "http://gpu-a:8188, http://gpu-b:8188/")
    monkeypatch.setenv("OLLAMA_URL", "http://llm-box:11434/api/generate")
    monkeypatch.setenv("COSYVOICE_URL", "http://tts-box:9233/v1/tts")
    backends = BackendSet.from_settings(make_settings())
    try:
        assert isinstance(backends.storyboard, OllamaStoryboard) and backends.storyboard.url == "http://llm-box:11434"
        assert isinstance(backends.keyframe, ComfyKeyframe) and isinstance(backends.clip, ComfyClip)
        assert isinstance(backends.voice, LocalCosyVoice) and backends.voice.url == "http://tts-box:9233/v1/tts"
        pool = backends.keyframe.pool()
        assert pool is backends.clip.pool(), "one host pool per process, shared by both ComfyUI stages"
        assert [s.host.url for s in pool.states] == ["http://gpu-a:8188", "http://gpu-b:8188"]
    finally:
        await backends.aclose()


def test_without_cosyvoice_url_the_voice_stays_offline_and_stages_can_be_overridden() -> None:
    settings = make_settings(local_inference=True, backends={"clip": "offline"})
    assert [settings.backend_for(s) for s in ("storyboard", "keyframe", "clip", "voice")] == \
        ["ollama", "comfy", "offline", "offline"]
    assert isinstance(BackendSet.from_settings(settings).voice, OfflineVoice)
