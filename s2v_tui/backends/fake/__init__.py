"""Deterministic fake backends for tests and demos (`--backend fake`, like httpx's MockTransport).

They produce real, valid files quickly — flat-colour keyframes, Ken-Burns plans, quiet tones timed
like speech — with configurable latency and failures ("shot_02:keyframe" in `[fake] fail`), so the
engine, the TUI and the e2e tests exercise every path without espeak, fonts or network.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from PIL import Image, ImageDraw

from s2v_tui.backends.base import (
    BackendInfo,
    ClipBackend,
    ClipRequest,
    ClipResult,
    KeyframeBackend,
    KeyframeRequest,
    ShotDraft,
    StageContext,
    StoryboardBackend,
    StoryboardRequest,
    VoiceBackend,
    VoiceRequest,
    VoiceResult,
)
from s2v_tui.backends.offline.splitter import split_script
from s2v_tui.config import FakeSettings
from s2v_tui.domain.errors import BackendError
from s2v_tui.media.audio import normalise_voice
from s2v_tui.media.kenburns import plan_motion
from s2v_tui.media.subtitles import WordTiming

SECONDS_PER_CJK = 0.16
SECONDS_PER_WORD = 0.32


class _FakeBase:
    stage = ""

    def __init__(self, settings: FakeSettings) -> None:
        self.settings = settings

    async def _work(self, ctx: StageContext) -> None:
        if f"{ctx.shot_id}:{self.stage}" in self.settings.fail or f"*:{self.stage}" in self.settings.fail:
            raise BackendError(f"fake {self.stage} failure for {ctx.shot_id} (configured in [fake] fail)",
                               hint="remove it from [fake] fail to let this shot succeed")
        steps = 4
        for step in range(steps):
            if self.settings.latency:
                await asyncio.sleep(self.settings.latency / steps)
            ctx.progress((step + 1) / steps)


class FakeStoryboard(_FakeBase, StoryboardBackend):
    stage = "storyboard"
    info = BackendInfo(name="fake", model="fake-splitter", lane="fake")

    async def storyboard(self, request: StoryboardRequest, ctx: StageContext) -> list[ShotDraft]:
        await self._work(ctx)
        return split_script(request)


class FakeKeyframe(_FakeBase, KeyframeBackend):
    stage = "keyframe"
    info = BackendInfo(name="fake", model="flat-v1", lane="fake")

    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        await self._work(ctx)
        digest = hashlib.sha256(request.prompt.encode()).digest()
        image = Image.new("RGB", (request.width, request.height), tuple(digest[:3]))
        draw = ImageDraw.Draw(image)
        w, h = image.size
        draw.ellipse([w * 0.25, h * 0.3, w * 0.75, h * 0.3 + w * 0.5], fill=tuple(digest[3:6]))
        draw.rectangle([0, h * 0.7, w, h], fill=tuple(digest[6:9]))
        image.save(out, "PNG")


class FakeClip(_FakeBase, ClipBackend):
    stage = "clip"
    info = BackendInfo(name="fake", model="kenburns-v1", lane="fake")

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        await self._work(ctx)
        return ClipResult(kind="motion", motion=plan_motion(request.camera, request.duration))


def fake_timings(text: str) -> tuple[list[WordTiming], float]:
    """Evenly paced 'speech': one unit per CJK character or Latin word."""
    timings, t = [], 0.0
    index = 0
    while index < len(text):
        ch = text[index]
        if ch.isspace() or not ch.isalnum():
            index += 1
            continue
        timings.append(WordTiming(char_start=index, start=round(t, 3)))
        if ch.isascii():
            while index < len(text) and text[index].isascii() and text[index].isalnum():
                index += 1
            t += SECONDS_PER_WORD
        else:
            index += 1
            t += SECONDS_PER_CJK
    return timings, max(0.6, t)


class FakeVoice(_FakeBase, VoiceBackend):
    stage = "voice"
    info = BackendInfo(name="fake", model="tone-v1", lane="fake")

    async def speak(self, request: VoiceRequest, out: Path, ctx: StageContext) -> VoiceResult:
        await self._work(ctx)
        from pydub.generators import Sine

        timings, seconds = fake_timings(request.text)

        def synthesise() -> float:
            # pydub generates samples in pure Python (~0.1 s per shot): off the event loop, like a real TTS.
            tone = Sine(220, sample_rate=request.sample_rate).to_audio_segment(duration=seconds * 1000, volume=-24)
            return normalise_voice(tone, out, sample_rate=request.sample_rate)

        duration = await asyncio.to_thread(synthesise)
        return VoiceResult(duration=duration, timings=timings)
