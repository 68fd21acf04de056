"""Backends by name, per stage, imported lazily (cloud SDKs load only when a cloud backend is chosen).

Each entry is "module:function"; the function takes `Settings` and returns the backend. An unknown
name fails loudly with the names that exist.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from s2v_tui.backends.base import ClipBackend, KeyframeBackend, StoryboardBackend, VoiceBackend
from s2v_tui.config import STAGES, Settings
from s2v_tui.domain.errors import ConfigError

REGISTRY: dict[str, dict[str, str]] = {
    "storyboard": {
        "offline": "s2v_tui.backends.registry:_offline_storyboard",
        "fake": "s2v_tui.backends.registry:_fake_storyboard",
        "dashscope": "s2v_tui.backends.dashscope.storyboard:create",
        "openai_compat": "s2v_tui.backends.openai_compat.storyboard:create",
        "ollama": "s2v_tui.backends.ollama.storyboard:create",
    },
    "keyframe": {
        "offline": "s2v_tui.backends.registry:_offline_keyframe",
        "fake": "s2v_tui.backends.registry:_fake_keyframe",
        "dashscope": "s2v_tui.backends.dashscope.image:create",
        "comfy": "s2v_tui.backends.comfy.backends:create_keyframe",
    },
    "clip": {
        "offline": "s2v_tui.backends.registry:_offline_clip",
        "fake": "s2v_tui.backends.registry:_fake_clip",
        "dashscope": "s2v_tui.backends.dashscope.video:create",
        "pixverse": "s2v_tui.backends.pixverse.video:create",
        "comfy": "s2v_tui.backends.comfy.backends:create_clip",
    },
    "voice": {
        "offline": "s2v_tui.backends.registry:_offline_voice",
        "fake": "s2v_tui.backends.registry:_fake_voice",
        "dashscope": "s2v_tui.backends.dashscope.voice:create",
        "cosyvoice": "s2v_tui.backends.cosyvoice.voice:create",
    },
}


def _offline_storyboard(settings: Settings) -> StoryboardBackend:
    from s2v_tui.backends.offline.splitter import OfflineStoryboard

    return OfflineStoryboard()


def _offline_keyframe(settings: Settings) -> KeyframeBackend:
    from s2v_tui.backends.offline.keyframe import OfflineKeyframe

    return OfflineKeyframe()


def _offline_clip(settings: Settings) -> ClipBackend:
    from s2v_tui.backends.offline.motion import OfflineClip

    return OfflineClip()


def _offline_voice(settings: Settings) -> VoiceBackend:
    from s2v_tui.backends.offline.voice import OfflineVoice

    return OfflineVoice(settings.voice)


def _fake_storyboard(settings: Settings) -> StoryboardBackend:
    from s2v_tui.backends.fake import FakeStoryboard

    return FakeStoryboard(settings.fake)


def _fake_keyframe(settings: Settings) -> KeyframeBackend:
    from s2v_tui.backends.fake import FakeKeyframe

    return FakeKeyframe(settings.fake)


def _fake_clip(settings: Settings) -> ClipBackend:
    from s2v_tui.backends.fake import FakeClip

    return FakeClip(settings.fake)


def _fake_voice(settings: Settings) -> VoiceBackend:
    from s2v_tui.backends.fake import FakeVoice

    return FakeVoice(settings.fake)


def create_backend(stage: str, name: str, settings: Settings) -> Any:
    options = REGISTRY[stage]
    if name not in options:
        raise ConfigError(f"unknown {stage} backend {name!r}",
                          hint=f"choose one of: {', '.join(sorted(options))} (config [backends] {stage} = ...)")
    module_name, _, function = options[name].partition(":")
    factory = getattr(importlib.import_module(module_name), function)
    return factory(settings)


@dataclass
class BackendSet:
    storyboard: StoryboardBackend
    keyframe: KeyframeBackend
    clip: ClipBackend
    voice: VoiceBackend

    @classmethod
    def from_settings(cls, settings: Settings) -> BackendSet:
        return cls(**{stage: create_backend(stage, settings.backend_for(stage), settings) for stage in STAGES})

    def all(self) -> list[Any]:
        return [self.storyboard, self.keyframe, self.clip, self.voice]

    async def aclose(self) -> None:
        closed: set[int] = set()
        for backend in self.all():
            if id(backend) not in closed:
                closed.add(id(backend))
                await backend.aclose()
