"""Offline keyframes: painted with Pillow (see `painter`), a little larger than the video so the
Ken-Burns motion has room to move without upscaling."""

from __future__ import annotations

import asyncio
from pathlib import Path

from s2v_tui.backends.base import BackendInfo, KeyframeBackend, KeyframeRequest, StageContext
from s2v_tui.backends.offline.painter import paint_keyframe

OVERSCAN = 1.25


class OfflineKeyframe(KeyframeBackend):
    info = BackendInfo(name="offline", model="painter-v3", lane="cpu", params={"overscan": OVERSCAN})

    async def keyframe(self, request: KeyframeRequest, out: Path, ctx: StageContext) -> None:
        size = (round(request.width * OVERSCAN / 2) * 2, round(request.height * OVERSCAN / 2) * 2)
        image = await asyncio.to_thread(
            paint_keyframe, size, seed_text=f"{request.seed}:{request.prompt}", style=request.style,
            text=f"{request.subject} {request.detail} {request.narration}", number=request.sequence,
            caption=request.subject)
        await asyncio.to_thread(image.save, out, "PNG", compress_level=1)
