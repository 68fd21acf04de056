"""The offline keyframe's caption: shot number and subject on a translucent label.

It sits at the top of the band every camera move keeps in frame (`kenburns.always_in_frame`), away
from the subtitles at the bottom; a subject too long for the band is cut at a whole word (jieba words
for Chinese) with "…". The painter lays the caption out first and keeps its sun or moon clear of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from s2v_tui.backends.offline.phrases import fit_words
from s2v_tui.media.fonts import pil_font
from s2v_tui.media.kenburns import always_in_frame

Box = tuple[float, float, float, float]
"""left, top, right, bottom in pixels."""


@dataclass(frozen=True)
class CaptionLayout:
    box: Box
    number: str
    text: str
    """The subject, cut at a word boundary (with "…") when it does not fit the band."""
    label_h: int
    pad: float
    number_w: float


def caption_layout(size: tuple[int, int], number: int, caption: str) -> CaptionLayout:
    """Where the shot number and subject go: centred at the top of the band every camera move keeps in
    frame (`kenburns.always_in_frame`), so no pan, crane or orbit cuts them off."""
    w, h = size
    low, high = always_in_frame()
    label_h = int(h * 0.055)
    big, small = _caption_fonts(label_h)
    digits = f"{number:02d}"
    number_w, pad = big.getlength(digits), w * 0.025
    room = w * (high - low) - number_w - 3 * pad  # what the subject may take inside the band
    text = fit_words(caption.strip(), lambda t: small.getlength(t) <= room)
    label_w = number_w + 3 * pad + small.getlength(text)
    left, top = (w - label_w) / 2, h * low + label_h * 0.25
    return CaptionLayout((left, top, left + label_w, top + label_h), digits, text, label_h, pad, number_w)


def _caption_fonts(label_h: int) -> tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]:
    return pil_font(max(12, int(label_h * 0.62))), pil_font(max(10, int(label_h * 0.38)))


def draw_caption(image: Image.Image, number: int, caption: str) -> Box:
    """Shot number and subject on a translucent label (see `caption_layout`); returns its box."""
    layout = caption_layout(image.size, number, caption)
    big, small = _caption_fonts(layout.label_h)
    # Only the label's own rectangle is composited (not the whole picture).
    area = (max(0, math.floor(layout.box[0]) - 2), max(0, math.floor(layout.box[1]) - 2),
            min(image.width, math.ceil(layout.box[2]) + 2), min(image.height, math.ceil(layout.box[3]) + 2))
    left, top = layout.box[0] - area[0], layout.box[1] - area[1]
    overlay = Image.new("RGBA", (area[2] - area[0], area[3] - area[1]), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle((left, top, left + layout.box[2] - layout.box[0], top + layout.box[3] - layout.box[1]),
                           radius=layout.label_h * 0.2, fill=(0, 0, 0, 120))
    draw.text((left + layout.pad, top + layout.label_h * 0.12), layout.number, font=big, fill=(255, 255, 255, 240))
    draw.text((left + 2 * layout.pad + layout.number_w, top + layout.label_h * 0.28), layout.text, font=small,
              fill=(255, 255, 255, 235))
    image.paste(Image.alpha_composite(image.crop(area).convert("RGBA"), overlay).convert("RGB"), area[:2])
    return layout.box
