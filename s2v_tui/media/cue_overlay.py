"""Burned subtitles for offline motion shots, drawn once per cue instead of once per frame.

libass (ffmpeg's `ass` filter) re-composites every cue on every frame: measured ~0.3 CPU-s per
200-frame 720x1280 segment, 13% of x264's own cost. For frames that s2v renders itself, each cue is
instead drawn once with Pillow — the same font, size, outline and soft shadow as the ASS style of
`subtitles.write_ass` — straight into 4:2:0 planes with alpha, and blended into each frame of its
time span in integer arithmetic (bit-exact, deterministic), over only the rows it covers. No RGB.
Provider clips are decoded by ffmpeg anyway and keep libass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from s2v_tui.media.fonts import pil_font
from s2v_tui.media.subtitles import Cue, SubtitleLayout

WHITE_Y, BLACK_Y, NEUTRAL_C = 235, 16, 128
"""BT.601 limited range: the text's white fill, its black outline and shadow, grey chroma."""
SHADOW_ALPHA = 0.5
"""The ASS style's back colour is black at 50% (`Color(0, 0, 0, 128)`)."""


@dataclass(frozen=True)
class PlaneOverlay:
    """A premultiplied patch for one plane: `plane = (plane * (255 - a) + value * a + 127) // 255`."""

    x: int
    y: int
    keep: np.ndarray
    """uint16: 255 - alpha."""
    add: np.ndarray
    """uint16: value * alpha + 128 (the rounding term, plus one for the shift below)."""

    @classmethod
    def of(cls, value: np.ndarray, alpha: np.ndarray, x: int, y: int) -> PlaneOverlay:
        """From float value (premultiplied, 0–255) and alpha (0–1), cropped to where alpha is not zero."""
        a8 = np.rint(alpha * 255).astype(np.uint16)
        rows, cols = np.nonzero(a8)
        if not rows.size:
            return cls(x, y, np.zeros((0, 0), np.uint16), np.zeros((0, 0), np.uint16))
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        a8 = a8[top:bottom, left:right]
        add = np.rint(np.asarray(value)[top:bottom, left:right] * 255).astype(np.uint16) + 128
        return cls(x + int(left), y + int(top), 255 - a8, add)

    def blend(self, plane: np.ndarray) -> None:
        rows, cols = self.keep.shape
        region = plane[self.y:self.y + rows, self.x:self.x + cols]
        mixed = region * self.keep  # ≤ 255·255: uint16
        mixed += self.add
        mixed += mixed >> 8
        mixed >>= 8  # ((t + 128) + ((t + 128) >> 8)) >> 8 is exactly round(t / 255), with shifts only
        region[...] = mixed


@dataclass(frozen=True)
class CueOverlay:
    first: int
    end: int
    """Frames [first, end) show the cue."""
    planes: tuple[PlaneOverlay, PlaneOverlay, PlaneOverlay]

    def blend(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        for overlay, plane in zip(self.planes, (y, u, v), strict=True):
            overlay.blend(plane)


def _em_pixels(font_size: int) -> float:
    """libass sizes a font by its ascender + descender; Pillow by its em square."""
    probe = pil_font(1000)
    ascent, descent = probe.getmetrics()
    return max(6.0, font_size * 1000 / (ascent + descent))


def _masks(text: str, width: int, layout: SubtitleLayout, outline: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(fill coverage, fill + outline coverage, line height) as float arrays in [0, 1]."""
    lines = text.split("\n")
    line_h = layout.font_size
    pad = outline + 2
    height = line_h * len(lines) + 2 * pad
    font = pil_font(_em_pixels(layout.font_size))
    fill, stroke = Image.new("L", (width, height), 0), Image.new("L", (width, height), 0)
    for index, line in enumerate(lines):
        at = (width / 2, pad + line_h * index + line_h / 2)
        ImageDraw.Draw(fill).text(at, line, font=font, fill=255, anchor="mm")
        ImageDraw.Draw(stroke).text(at, line, font=font, fill=255, anchor="mm", stroke_width=outline, stroke_fill=255)
    return np.asarray(fill, np.float64) / 255, np.asarray(stroke, np.float64) / 255, pad


def cue_overlay(cue: Cue, *, width: int, height: int, fps: int, layout: SubtitleLayout) -> CueOverlay:
    """One cue as 4:2:0 overlay patches, placed as the ASS style places it (bottom centre, `margin_v`)."""
    outline = max(2, round(max(1.5, layout.font_size * 0.07)))
    fill, stroke, pad = _masks(cue.text, width, layout, outline)
    shadow = np.zeros_like(stroke)
    shadow[1:, 1:] = stroke[:-1, :-1] * SHADOW_ALPHA
    # Fill over outline over shadow, premultiplied.
    alpha = fill + stroke * (1 - fill)
    value = WHITE_Y * fill + BLACK_Y * stroke * (1 - fill)
    value = value + BLACK_Y * shadow * (1 - alpha)
    alpha = alpha + shadow * (1 - alpha)
    rows = alpha.shape[0] + (alpha.shape[0] % 2)
    top = height - layout.margin_v - (rows - pad)
    top -= top % 2  # chroma rows pair with luma rows
    top = max(0, top)
    alpha, value = (np.pad(a, ((0, rows - a.shape[0]), (0, 0))) for a in (alpha, value))
    rows = min(rows, height - top)
    alpha, value = alpha[:rows], value[:rows]
    half_alpha = cv2.resize(alpha, (width // 2, rows // 2), interpolation=cv2.INTER_AREA)
    luma = PlaneOverlay.of(value, alpha, 0, top)
    chroma = PlaneOverlay.of(half_alpha * NEUTRAL_C, half_alpha, 0, top // 2)
    first = max(0, math.ceil(cue.start * fps - 1e-9))
    end = max(first, math.ceil(cue.end * fps - 1e-9))
    return CueOverlay(first, end, (luma, chroma, chroma))


def cue_overlays(cues: Sequence[Cue], *, width: int, height: int, fps: int, layout: SubtitleLayout) -> list[CueOverlay]:
    return [cue_overlay(c, width=width, height=height, fps=fps, layout=layout) for c in cues if c.text.strip()]
