"""The once-per-cue subtitles look like libass's rendering of the same ASS style (font, size, place)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from s2v_tui.media.cue_overlay import cue_overlay
from s2v_tui.media.ffmpeg import ffmpeg_exe
from s2v_tui.media.fonts import cjk_font
from s2v_tui.media.subtitles import Cue, layout_for, write_ass

pytestmark = pytest.mark.e2e
W, H = 720, 1280
"""The default 9:16 format: subtitles are sized for it."""


def test_overlay_matches_libass(tmp_path: Path) -> None:
    layout = layout_for(W, H)
    cue = Cue(start=0, end=2, text="海边的小镇上住着\nShe lit the lamp")
    font = cjk_font()
    write_ass([cue], tmp_path / "c.ass", width=W, height=H, font_family=font.family, layout=layout)
    grey = np.full(W * H * 3 // 2, 128, np.uint8)
    grey[:W * H] = 90
    (tmp_path / "grey.yuv").write_bytes(grey.tobytes())
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}",
                    "-i", "grey.yuv", "-vf", f"ass=c.ass:fontsdir={font.folder}", "-frames:v", "1", "-f", "rawvideo",
                    "-pix_fmt", "yuv420p", "libass.yuv"], check=True, cwd=tmp_path)
    libass = np.frombuffer((tmp_path / "libass.yuv").read_bytes(), np.uint8)[:W * H].reshape(H, W).astype(int)
    mine = grey.copy()
    y = mine[:W * H].reshape(H, W)
    u = mine[W * H:W * H * 5 // 4].reshape(H // 2, W // 2)
    v = mine[W * H * 5 // 4:].reshape(H // 2, W // 2)
    cue_overlay(cue, width=W, height=H, fps=30, layout=layout).blend(y, u, v)
    ours = y.astype(int)

    def extent(luma: np.ndarray) -> tuple[int, int, int, int]:
        rows, cols = np.nonzero(np.abs(luma - 90) > 20)
        return rows.min(), rows.max(), cols.min(), cols.max()

    assert all(abs(a - b) <= 3 for a, b in zip(extent(ours), extent(libass), strict=True)), (extent(ours), extent(libass))
    # The same glyphs in the same places, up to a pixel of anti-aliasing: compare softened pictures.
    soft = [cv2.GaussianBlur(luma.astype(np.float32), (0, 0), 2) for luma in (ours, libass)]
    text = np.abs(soft[1] - 90) > 10
    assert np.mean(np.abs(soft[0] - soft[1])[text]) < 0.25 * np.mean(np.abs(soft[1] - 90)[text])
