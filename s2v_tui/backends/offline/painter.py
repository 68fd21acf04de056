"""The offline keyframe: a composed Pillow picture from the shot's words, style and number.

Scenery comes from `scene.scene_tags` (sea, mountains, forest, town, indoor, snow, rain, lanterns…),
light from time of day (night, dusk, dawn, day), colour treatment from the style (watercolour, ink,
cyberpunk, anime…). Randomness is seeded by the shot's content, so a shot always repaints the same
and different shots differ. The caption (`caption`) is laid out first, and the sun or moon is placed
clear of it.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from s2v_tui.backends.offline.caption import Box, caption_layout, draw_caption
from s2v_tui.backends.offline.scene import scene_tags

RGB = tuple[int, int, int]
LIGHT_MARGIN = 0.02
"""Clear space between the sun or moon and the caption, as a share of the picture's shorter side."""


@dataclass(frozen=True)
class Palette:
    sky_top: RGB
    sky_horizon: RGB
    far: RGB
    near: RGB
    ground: RGB
    light: RGB
    """Sun/moon/lamp colour."""


PALETTES: dict[str, Palette] = {
    "night": Palette((8, 12, 38), (40, 46, 96), (38, 44, 84), (20, 24, 52), (14, 16, 34), (246, 240, 214)),
    "dusk": Palette((58, 40, 96), (250, 150, 90), (120, 70, 100), (70, 40, 70), (44, 28, 48), (255, 196, 120)),
    "dawn": Palette((120, 160, 220), (252, 214, 170), (150, 160, 190), (96, 110, 140), (70, 84, 96), (255, 236, 190)),
    "day": Palette((70, 140, 220), (190, 226, 246), (120, 160, 170), (70, 120, 100), (96, 140, 80), (255, 250, 226)),
}


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    column = Image.new("RGB", (1, 256))
    column.putdata([_mix(top, bottom, i / 255) for i in range(256)])
    return column.resize(size, Image.Resampling.BICUBIC)


def _glow(canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float = 0.8) -> None:
    """Additive soft light, blurred at quarter resolution over only the box it reaches (cheap)."""
    w, h = canvas.size
    reach = radius * 3.2  # the disc plus its blurred edge: 3 sigma, sigma = radius / 6 quarter pixels
    left, top = max(0, int(centre[0] - reach)), max(0, int(centre[1] - reach))
    right, bottom = min(w, math.ceil(centre[0] + reach)), min(h, math.ceil(centre[1] + reach))
    if right - left < 4 or bottom - top < 4:
        return
    small = Image.new("L", ((right - left) // 4, (bottom - top) // 4), 0)
    x, y = (centre[0] - left) / 4, (centre[1] - top) / 4
    ImageDraw.Draw(small).ellipse([x - radius / 4, y - radius / 4, x + radius / 4, y + radius / 4],
                                  fill=int(255 * strength))
    mask = small.filter(ImageFilter.GaussianBlur(radius / 6)).resize((right - left, bottom - top),
                                                                      Image.Resampling.BILINEAR)
    canvas.paste(colour, (left, top, right, bottom), mask)


def _minus(span: tuple[float, float], cut: tuple[float, float]) -> list[tuple[float, float]]:
    """The parts of the interval `span` outside `cut` (non-empty ones only)."""
    parts = [(span[0], min(span[1], cut[0])), (max(span[0], cut[1]), span[1])]
    return [(a, b) for a, b in parts if b > a]


def _uniform_in(rng: random.Random, spans: list[tuple[float, float]]) -> float:
    """A uniform draw from a union of intervals."""
    at = rng.uniform(0, sum(b - a for a, b in spans))
    for a, b in spans:
        if at <= b - a:
            return a + at
        at -= b - a
    return spans[-1][1]


def _ridge(rng: random.Random, w: int, base: float, rough: float) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    y = base
    for x in range(0, w + 40, 40):
        y = min(max(y + rng.uniform(-rough, rough), base - rough * 3), base + rough * 3)
        points.append((x, y))
    return points


class Painter:
    def __init__(self, size: tuple[int, int], seed_text: str, style: str, text: str) -> None:
        self.size = size
        self.rng = random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:12], 16))
        self.tags = scene_tags(text)
        self.style = style.lower()
        time_of_day = next((t for t in ("night", "dusk", "dawn") if t in self.tags), "day")
        self.time = time_of_day
        self.palette = PALETTES[time_of_day]
        self.horizon = size[1] * self.rng.uniform(0.52, 0.62)
        self.light_box: Box | None = None
        """Where the sun or moon was painted."""

    def paint(self, avoid: Box | None = None) -> Image.Image:
        """The picture; its sun or moon is placed clear of `avoid` (the caption's box)."""
        w, h = self.size
        p = self.palette
        light_at, radius = self.place_light(avoid)
        canvas = _gradient((w, h), p.sky_top, p.sky_horizon)
        draw = ImageDraw.Draw(canvas)
        if self.time == "night":
            for _ in range(int(w * h / 9000)):
                x, y = self.rng.uniform(0, w), self.rng.uniform(0, self.horizon * 0.9)
                r = self.rng.choice((1, 1, 1.5, 2))
                draw.ellipse([x - r, y - r, x + r, y + r], fill=_mix(p.light, (255, 255, 255), 0.5))
        _glow(canvas, light_at, radius * 4, p.light, 0.35)
        draw.ellipse([light_at[0] - radius, light_at[1] - radius, light_at[0] + radius, light_at[1] + radius],
                     fill=p.light)
        if "sky" in self.tags or self.time == "day":
            self._clouds(canvas)
        if "mountain" in self.tags or not self.tags & {"sea", "city", "indoor", "desert"}:
            self._mountains(draw)
        if "desert" in self.tags:
            self._dunes(draw)
        if "sea" in self.tags or "water" in self.tags:
            self._water(canvas, light_at)
        else:
            draw.rectangle([0, self.horizon, w, h], fill=p.ground)
        if "forest" in self.tags:
            self._trees(draw)
        if "city" in self.tags:
            self._town(draw)
        if "indoor" in self.tags and "city" not in self.tags:
            self._window_frame(draw)
        if "lantern" in self.tags:
            self._lanterns(canvas)
        if "snow" in self.tags or "rain" in self.tags:
            self._weather(draw, "snow" if "snow" in self.tags else "rain")
        return self._treat(self._vignette(canvas))

    def place_light(self, avoid: Box | None = None) -> tuple[tuple[float, float], float]:
        """Where the sun or moon goes (centre, radius): high in the sky, its disc (plus a margin) never on
        `avoid`. Call once, first: it draws from the painting's random sequence.

        Where the drawn spot would touch the box, the height is redrawn from those that clear it above or
        below (down to 70% of the horizon; failing that, a sun low on the horizon); failing that, the disc
        moves beside the box."""
        w, h = self.size
        radius = min(w, h) * (0.07 if self.time == "night" else 0.09)
        x, y = w * self.rng.uniform(0.2, 0.8), self.horizon * self.rng.uniform(0.25, 0.55)
        if avoid is not None:
            x, y = self._clear_of(avoid, x, y, radius)
        self.light_box = (x - radius, y - radius, x + radius, y + radius)
        return (x, y), radius

    def _clear_of(self, avoid: Box, x: float, y: float, radius: float) -> tuple[float, float]:
        w, h = self.size
        clear = radius + LIGHT_MARGIN * min(w, h)
        left, top, right, bottom = avoid
        if not (left - clear < x < right + clear and top - clear < y < bottom + clear):
            return x, y
        for sky in ((radius * 1.1, self.horizon * 0.7), (radius * 1.1, self.horizon - radius * 0.5)):
            heights = _minus(sky, (top - clear, bottom + clear))
            if heights:
                return x, _uniform_in(self.rng, heights)
        beside = [c for c in (left - clear - 1, right + clear + 1) if radius <= c <= w - radius]
        return max(beside, key=lambda c: min(c - radius, w - radius - c), default=x), y

    def _clouds(self, canvas: Image.Image) -> None:
        w, _ = self.size
        colour = _mix(self.palette.sky_horizon, (255, 255, 255), 0.6)
        for _ in range(self.rng.randint(2, 4)):
            cx, cy = self.rng.uniform(0, w), self.rng.uniform(self.horizon * 0.15, self.horizon * 0.7)
            _glow(canvas, (cx, cy), w * self.rng.uniform(0.12, 0.22), colour, 0.55)

    def _mountains(self, draw: ImageDraw.ImageDraw) -> None:
        w, h = self.size
        for layer in range(3):
            t = layer / 2
            colour = _mix(_mix(self.palette.far, self.palette.sky_horizon, 0.35), self.palette.near, t)
            base = self.horizon - h * (0.14 - 0.05 * layer)
            ridge = _ridge(self.rng, w, base, h * 0.025)
            draw.polygon([*ridge, (w, self.horizon + 2), (0, self.horizon + 2)], fill=colour)

    def _dunes(self, draw: ImageDraw.ImageDraw) -> None:
        w, h = self.size
        sand = (214, 170, 110) if self.time != "night" else (90, 80, 90)
        for layer in range(3):
            ridge = _ridge(self.rng, w, self.horizon + h * 0.05 * layer, h * 0.012)
            draw.polygon([*ridge, (w, h), (0, h)], fill=_mix(sand, (0, 0, 0), 0.12 * layer))

    def _water(self, canvas: Image.Image, light_at: tuple[float, float]) -> None:
        w, h = self.size
        water = _gradient((w, h - int(self.horizon)), _mix(self.palette.sky_horizon, self.palette.near, 0.45),
                          _mix(self.palette.near, (0, 0, 0), 0.35))
        canvas.paste(water, (0, int(self.horizon)))
        draw = ImageDraw.Draw(canvas)
        for i in range(40):
            y = self.horizon + (h - self.horizon) * (i / 40) ** 1.6
            span = w * (0.04 + 0.25 * i / 40)
            x = light_at[0] + self.rng.uniform(-span, span)
            draw.line([x - span * 0.4, y, x + span * 0.4, y], fill=_mix(self.palette.light, self.palette.near, i / 50),
                      width=max(1, int(h / 500 + i / 12)))
        if "sea" in self.tags:  # a boat on the horizon
            bx = w * self.rng.uniform(0.15, 0.75)
            by = self.horizon + h * 0.02
            dark = _mix(self.palette.near, (0, 0, 0), 0.6)
            draw.polygon([(bx, by), (bx + w * 0.12, by), (bx + w * 0.1, by + h * 0.015), (bx + w * 0.02, by + h * 0.015)],
                         fill=dark)
            draw.polygon([(bx + w * 0.05, by), (bx + w * 0.05, by - h * 0.06), (bx + w * 0.1, by)], fill=dark)

    def _trees(self, draw: ImageDraw.ImageDraw) -> None:
        w, h = self.size
        for _ in range(self.rng.randint(7, 14)):
            x = self.rng.uniform(-0.05, 1.05) * w
            scale = self.rng.uniform(0.6, 1.3)
            top, base = self.horizon - h * 0.16 * scale, self.horizon + h * 0.02 * scale
            colour = _mix(self.palette.near, (10, 40, 20), 0.5 * scale)
            draw.polygon([(x, top), (x - w * 0.05 * scale, base), (x + w * 0.05 * scale, base)], fill=colour)
            draw.rectangle([x - w * 0.006, base, x + w * 0.006, base + h * 0.02 * scale], fill=(40, 30, 24))

    def _town(self, draw: ImageDraw.ImageDraw) -> None:
        w, h = self.size
        x = -w * 0.02
        lit = self.time in ("night", "dusk")
        while x < w:
            bw = w * self.rng.uniform(0.08, 0.16)
            bh = h * self.rng.uniform(0.06, 0.2)
            top = self.horizon - bh
            draw.rectangle([x, top, x + bw, self.horizon + 2], fill=_mix(self.palette.near, (0, 0, 0), 0.3))
            draw.polygon([(x - bw * 0.05, top), (x + bw / 2, top - bh * 0.2), (x + bw * 1.05, top)],
                         fill=_mix(self.palette.near, (0, 0, 0), 0.5))
            for wy in range(int(top + bh * 0.15), int(self.horizon - bh * 0.1), max(6, int(h * 0.025))):
                for wx in range(int(x + bw * 0.15), int(x + bw * 0.85), max(6, int(w * 0.035))):
                    if self.rng.random() < (0.55 if lit else 0.3):
                        colour = (255, 206, 120) if lit else _mix(self.palette.sky_horizon, (255, 255, 255), 0.3)
                        draw.rectangle([wx, wy, wx + w * 0.014, wy + h * 0.01], fill=colour)
            x += bw * self.rng.uniform(0.9, 1.1)

    def _window_frame(self, draw: ImageDraw.ImageDraw) -> None:
        w, h = self.size
        wall = _mix(self.palette.ground, (60, 40, 30), 0.5)
        margin_x, top, bottom = w * 0.14, h * 0.12, self.horizon + h * 0.08
        draw.rectangle([0, 0, w, top], fill=wall)
        draw.rectangle([0, bottom, w, h], fill=_mix(wall, (0, 0, 0), 0.25))
        draw.rectangle([0, 0, margin_x, h], fill=wall)
        draw.rectangle([w - margin_x, 0, w, h], fill=wall)
        draw.line([w / 2, top, w / 2, bottom], fill=_mix(wall, (0, 0, 0), 0.4), width=max(4, w // 80))
        draw.rectangle([w * 0.2, bottom + h * 0.05, w * 0.8, bottom + h * 0.08], fill=(70, 46, 30))

    def _lanterns(self, canvas: Image.Image) -> None:
        w, h = self.size
        draw = ImageDraw.Draw(canvas)
        for _ in range(self.rng.randint(3, 7)):
            x, y = self.rng.uniform(0.1, 0.9) * w, self.rng.uniform(0.35, 0.8) * self.horizon + h * 0.1
            r = w * self.rng.uniform(0.018, 0.035)
            _glow(canvas, (x, y), r * 3.5, (255, 120, 60), 0.55)
            draw.ellipse([x - r, y - r * 1.2, x + r, y + r * 1.2], fill=(220, 40, 36))
            draw.line([x, y - r * 1.2, x, y - r * 2.5], fill=(60, 30, 20), width=max(1, w // 400))

    def _weather(self, draw: ImageDraw.ImageDraw, kind: str) -> None:
        w, h = self.size
        for _ in range(int(w * h / (2500 if kind == "snow" else 3500))):
            x, y = self.rng.uniform(0, w), self.rng.uniform(0, h)
            if kind == "snow":
                r = self.rng.uniform(1, 3.5) * w / 720
                draw.ellipse([x - r, y - r, x + r, y + r], fill=(236, 240, 250))
            else:
                draw.line([x, y, x - w * 0.01, y + h * 0.03], fill=(170, 180, 200), width=1)

    def _vignette(self, canvas: Image.Image) -> Image.Image:
        w, h = canvas.size
        mask = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(mask).ellipse([-10, -6, 74, 70], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(10)).resize((w, h), Image.Resampling.BILINEAR)
        return Image.composite(canvas, Image.new("RGB", (w, h), (0, 0, 0)), ImageOps.autocontrast(mask, cutoff=0)
                               .point(lambda v: 110 + v * 145 // 255))

    def _treat(self, canvas: Image.Image) -> Image.Image:
        style = self.style
        if any(k in style for k in ("水墨", "ink", "黑白", "monochrome", "noir")):
            return ImageOps.colorize(ImageOps.grayscale(canvas), (20, 20, 24), (236, 232, 220))
        if any(k in style for k in ("水彩", "watercolor", "watercolour", "pastel", "柔和")):
            soft = canvas.filter(ImageFilter.GaussianBlur(2))
            return ImageEnhance.Brightness(ImageEnhance.Color(soft).enhance(0.75)).enhance(1.08)
        if any(k in style for k in ("赛博", "cyberpunk", "neon", "霓虹")):
            r, g, b = canvas.split()
            return ImageEnhance.Contrast(Image.merge("RGB", (b, r, g))).enhance(1.3)
        if any(k in style for k in ("动漫", "anime", "cartoon", "卡通", "皮克斯", "pixar")):
            return ImageEnhance.Color(canvas).enhance(1.35).quantize(48).convert("RGB")
        if any(k in style for k in ("油画", "oil", "painting")):
            return canvas.filter(ImageFilter.ModeFilter(5))
        return canvas


def paint_keyframe(size: tuple[int, int], *, seed_text: str, style: str, text: str, number: int,
                   caption: str) -> Image.Image:
    image = Painter(size, seed_text, style, text).paint(avoid=caption_layout(size, number, caption).box)
    draw_caption(image, number, caption)
    return image
