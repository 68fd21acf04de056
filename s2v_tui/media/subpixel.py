"""Sub-pixel crops by separable resizing: the picture of one Ken-Burns frame, plane by plane.

A camera move's frame is an axis-aligned scale and translation of the keyframe. `cv2.warpAffine`
computes it with a 2-D bilinear lookup per output pixel; `cv2.resize` does the same scaling in two
separable 1-D passes and costs ~40% less here (720x1280 luma: 0.74 vs 1.25 ms), but its crop can only
start on a whole pixel — whole-pixel crops are what make `zoompan` shimmer. The fraction is served
by copies of the plane shifted by k/PHASES px on each axis (bicubic, as two 4-tap passes, each copy
made once, on first use):
a frame's crop then starts within 1/(2·PHASES) px of where the move puts it, its scale is exact, and
every frame is one resize of an integer crop of one copy — deterministic, bit for bit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

PHASES = 4
"""Sub-pixel positions per axis a crop may start at: 1/4 px, so at most 1/8 px from the exact path
(measured against an exact Lanczos warp: ≥ 49 dB PSNR on every frame of every move, the bilinear
warp it replaces ≥ 52 dB; x264 at CRF 23 itself leaves ~40 dB)."""


def _taps(fraction: float) -> np.ndarray:
    """Lanczos-4 weights (OpenCV's INTER_LANCZOS4) of the pixels at −3 … +4 for a sample `fraction` of a
    pixel to the right of pixel 0, normalised to sum to 1."""
    offsets = np.arange(-3, 5) - fraction
    weights = np.sinc(offsets) * np.sinc(offsets / 4)
    return (weights / weights.sum()).astype(np.float32)


def warp(source: np.ndarray, inverse: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None,
         flags: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The exact affine warp (`inverse` maps output pixel centres to source pixel centres)."""
    return cv2.warpAffine(source, inverse, size, dst=out, flags=flags | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


class PhasedPlane:
    """One image plane and its sub-pixel-shifted copies."""

    def __init__(self, plane: np.ndarray) -> None:
        self.plane = plane
        self._copies: dict[tuple[int, int], np.ndarray] = {(0, 0): plane}

    def copy(self, px: int, py: int) -> np.ndarray:
        """The plane shifted left by px/PHASES and up by py/PHASES of a pixel."""
        found = self._copies.get((px, py))
        if found is None:  # separable 8-tap filters: ~2.5 ms for 800x1422, the same warpAffine 22 ms
            found = self._copies[px, py] = cv2.sepFilter2D(
                self.plane, -1, _taps(px / PHASES), _taps(py / PHASES), anchor=(3, 3),
                borderType=cv2.BORDER_REPLICATE)
        return found

    def crop_into(self, inverse: np.ndarray, out: np.ndarray) -> np.ndarray:
        """`out` = the plane under `inverse` (a scale and translation, as for `warp`), via one resize."""
        height, width = out.shape
        sx, sy = float(inverse[0, 0]), float(inverse[1, 1])
        # Output pixel d samples x0 + (d + 0.5)·sx − 0.5: x0 is where the crop box starts.
        x0 = float(inverse[0, 2]) - 0.5 * sx + 0.5
        y0 = float(inverse[1, 2]) - 0.5 * sy + 0.5
        ix, px = divmod(round(x0 * PHASES), PHASES)
        iy, py = divmod(round(y0 * PHASES), PHASES)
        source = self.copy(px, py)
        rows, cols = source.shape
        # A crop a little wider than the box, so the last output column interpolates rather than
        # clamping at the crop's edge; the resize keeps the exact scale (dsize from fx/fy).
        crop = source[iy:iy + min(rows - iy, math.ceil(height * sy) + 2), ix:ix + min(cols - ix, math.ceil(width * sx) + 2)]
        if ix < 0 or iy < 0 or round(crop.shape[1] / sx) < width or round(crop.shape[0] / sy) < height:
            return warp(self.plane, inverse, (width, height), out)  # a box past the picture's edge: exact path
        scaled = cv2.resize(crop, (0, 0), fx=1 / sx, fy=1 / sy, interpolation=cv2.INTER_LINEAR)
        out[...] = scaled[:height, :width]
        return out
