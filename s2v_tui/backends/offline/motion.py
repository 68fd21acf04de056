"""Offline clips: Ken-Burns motion matching the shot's camera move, as a plan rendered at encode time."""

from __future__ import annotations

from pathlib import Path

from s2v_tui.backends.base import BackendInfo, ClipBackend, ClipRequest, ClipResult, StageContext
from s2v_tui.media.kenburns import plan_motion


class OfflineClip(ClipBackend):
    info = BackendInfo(name="offline", model="kenburns-v1", lane="cpu")

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        # Alternate the direction of lateral moves between neighbouring shots so cuts feel varied.
        plan = plan_motion(request.camera, request.duration, flip=request.sequence % 2 == 0)
        return ClipResult(kind="motion", motion=plan)
