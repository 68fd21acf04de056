"""Concurrency lanes: one semaphore per provider or resource, so each gets its own width.

Shots run concurrently; what limits them is the lane their backend calls queue in (e.g. "dashscope"
width 2, "cpu" width = workers). A slow provider never holds up work in another lane.
"""

from __future__ import annotations

import asyncio

from s2v_tui.config import Settings

DEFAULT_WIDTH = 2


def lane_widths(settings: Settings) -> dict[str, int]:
    return {
        "cpu": settings.render.workers,
        "encode": settings.render.workers,
        "fake": 8,
        "motion-plan": 8,  # offline clips: a JSON plan each, no work worth queueing for
        # One Kokoro worker process (or espeak-ng's process-wide lock) speaks one line at a time; two in
        # the lane keep the next line queued there without taking a painter's or encoder's slot.
        "offline-voice": 2,
        # One lane per DashScope service: rate limits are per model, and a slow Wan task being
        # polled must not hold up keyframes or voices.
        "dashscope-image": settings.dashscope.lanes,
        "dashscope-video": settings.dashscope.lanes,
        "dashscope-voice": settings.dashscope.lanes,
        "oss": 4,
        "pixverse": settings.pixverse.max_concurrency,
        "comfy": max(1, len(settings.comfy.hosts) * settings.comfy.per_host_concurrency),
        "ollama": 1,
        "llm": 2,
        "cosyvoice": 2,
    }


class Lanes:
    def __init__(self, widths: dict[str, int]) -> None:
        self._widths = dict(widths)
        self._lanes: dict[str, asyncio.Semaphore] = {}

    def __call__(self, name: str) -> asyncio.Semaphore:
        if name not in self._lanes:
            self._lanes[name] = asyncio.Semaphore(self._widths.get(name, DEFAULT_WIDTH))
        return self._lanes[name]

    def width(self, name: str) -> int:
        return self._widths.get(name, DEFAULT_WIDTH)
