"""Subtitles drawn once per cue into offline motion frames (instead of libass on every frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from s2v_tui.domain.camera import CameraMove
from s2v_tui.media.cue_overlay import cue_overlays
from s2v_tui.media.kenburns import MotionRenderer, plan_motion
from s2v_tui.media.subtitles import Cue, layout_for

SIZE = (160, 288)


def _renderer(tmp_path: Path, cues: list[Cue]) -> MotionRenderer:
    Image.new("RGB", (200, 360), (90, 110, 140)).save(tmp_path / "k.png")
    layout = layout_for(*SIZE)
    overlays = cue_overlays(cues, width=SIZE[0], height=SIZE[1], fps=10, layout=layout)
    return MotionRenderer(tmp_path / "k.png", plan_motion(CameraMove.LOCKED, 2.0), SIZE, 10, 20, overlays)


def _luma(renderer: MotionRenderer, index: int) -> np.ndarray:
    frame = np.frombuffer(renderer.frame_bytes(index), dtype=np.uint8)
    return frame[:SIZE[0] * SIZE[1]].reshape(SIZE[1], SIZE[0]).astype(int)


def test_a_cue_is_burned_into_exactly_its_frames_near_the_bottom(tmp_path: Path) -> None:
    with_cue = _renderer(tmp_path, [Cue(start=0.5, end=1.0, text="灯火\nlights")])
    plain = _renderer(tmp_path, [])
    for index in range(20):
        changed = np.abs(_luma(with_cue, index) - _luma(plain, index)) > 30
        if 5 <= index < 10:
            rows = np.nonzero(changed.any(axis=1))[0]
            assert changed.sum() > 100, f"frame {index} has no subtitle"
            assert rows.min() > SIZE[1] * 0.6 and rows.max() < SIZE[1] - layout_for(*SIZE).margin_v + 4
            assert _luma(with_cue, index).max() >= 180 and _luma(with_cue, index).min() <= 40  # white, outlined
        else:
            assert not changed.any(), f"frame {index} shows a cue outside its time"


def test_blending_is_exact_integer_arithmetic(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path, [Cue(start=0.0, end=2.0, text="字")])
    assert renderer.frame_bytes(3) == renderer.frame_bytes(3)
    overlay = renderer.overlays[0].planes[0]
    plane = np.full((SIZE[1], SIZE[0]), 255, np.uint8)
    overlay.blend(plane)
    assert plane.max() <= 255 and (plane < 255).any()  # no uint16 overflow wrapping bright pixels dark
