"""Offline clips: Ken-Burns motion matching the shot's camera move, as a plan rendered at encode time."""

from __future__ import annotations

from pathlib import Path

from s2v_tui.backends.base import BackendInfo, ClipBackend, ClipRequest, ClipResult, StageContext
from s2v_tui.media.kenburns import plan_motion


class OfflineClip(ClipBackend):
    # Its own lane: a plan is a few hundred bytes of JSON, and queued behind the painters in "cpu" it held
    # every segment encode back until the last keyframe was painted (measured: 0.8 s before the first
    # encode of a 10-shot film; the rendering itself happens in the encode lane).
    info = BackendInfo(name="offline", model="kenburns-v1", lane="motion-plan")

    async def clip(self, request: ClipRequest, out: Path, ctx: StageContext) -> ClipResult:
        # Alternate the direction of lateral moves between neighbouring shots so cuts feel varied.
        plan = plan_motion(request.camera, request.duration, flip=request.sequence % 2 == 0)
        return ClipResult(kind="motion", motion=plan)
