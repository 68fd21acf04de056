"""The offline keyframe's caption never covers its sun or moon, for every kind of scene and picture shape."""

from __future__ import annotations

import functools

import pytest

from s2v_tui.backends.offline.caption import caption_layout
from s2v_tui.backends.offline.painter import LIGHT_MARGIN, Painter, paint_keyframe
from s2v_tui.backends.offline.scene import SCENERY

SCENES = {**{tag: words[0] for tag, words in SCENERY.items()}, "day": "平常的一天", "night-city-snow": "夜 街 雪",
          "dusk-sea": "sunset over the sea", "dawn-desert": "dawn in the desert"}
SIZES = [(900, 1600), (1600, 900), (1000, 1000), (360, 640), (640, 360), (400, 400)]
"""The offline keyframe of 720x1280, 1280x720 and 800x800 projects (overscan 1.25), and small ones."""
CAPTIONS = ["老人", "海边的小镇上住着一位做灯笼的老人和他的小孙女", "Every evening she climbed one hundred and twelve steps"]


@functools.cache
def _caption_box(size: tuple[int, int], caption: str) -> tuple[float, float, float, float]:
    return caption_layout(size, 7, caption).box


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float], margin: float) -> bool:
    return a[0] - margin < b[2] and b[0] - margin < a[2] and a[1] - margin < b[3] and b[1] - margin < a[3]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_the_caption_never_covers_the_sun_or_moon(scene: str, size: tuple[int, int]) -> None:
    for seed in range(60):
        caption = CAPTIONS[seed % len(CAPTIONS)]
        box = _caption_box(size, caption)
        painter = Painter(size, f"{seed}:{scene}", "", SCENES[scene])
        painter.place_light(avoid=box)
        assert painter.light_box is not None
        assert not _overlap(painter.light_box, box, LIGHT_MARGIN * min(size) * 0.99), \
            f"seed {seed}: light {painter.light_box} under caption {box}"
        left, top, right, bottom = painter.light_box
        assert left > -1 and right < size[0] + 1 and top > -1, "the light stays in the picture"


def test_paint_keyframe_keeps_the_light_clear_of_its_own_caption(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Painter] = []
    original = Painter.paint

    def paint(self: Painter, avoid=None):  # type: ignore[no-untyped-def]
        seen.append(self)
        return original(self, avoid=avoid)

    monkeypatch.setattr(Painter, "paint", paint)
    for seed in range(6):
        paint_keyframe((360, 640), seed_text=str(seed), style="", text="月 海", number=seed, caption=CAPTIONS[1])
        box = caption_layout((360, 640), seed, CAPTIONS[1]).box
        assert not _overlap(seen[-1].light_box, box, 0), f"seed {seed}"  # type: ignore[arg-type]


def test_a_long_caption_is_cut_at_a_word_boundary() -> None:
    layout = caption_layout((360, 640), 3, CAPTIONS[1])
    assert layout.text.endswith("…")
    assert CAPTIONS[1].startswith(layout.text[:-1])
    assert layout.text == "海边的小镇…"  # whole jieba words, ending on a noun (not on 做 of 做灯笼, nor 的)
    english = caption_layout((360, 640), 3, CAPTIONS[2]).text
    assert english.endswith("…") and CAPTIONS[2].startswith(english[:-1])
    assert english[:-1].split()[-1] in CAPTIONS[2].split() and english[:-1].split()[-1] not in ("one", "and")
