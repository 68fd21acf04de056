"""The CJK font used for keyframe captions (Pillow) and burned subtitles (libass).

It comes from the `pylopdf-fonts-zh-cn` wheel (Noto Sans SC, OFL-1.1) unless a path is configured, so
no system fontconfig or apt font package is needed: libass gets the font's folder via `fontsdir`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from s2v_tui.domain.errors import ConfigError


@dataclass(frozen=True)
class CjkFont:
    path: Path
    family: str
    """The family name libass matches on (e.g. "Noto Sans SC")."""

    @property
    def folder(self) -> Path:
        return self.path.parent


@functools.cache
def cjk_font(configured: str | None = None) -> CjkFont:
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError(f"font file {path} not found", hint="fix the font path or remove it to use Noto Sans SC")
    else:
        import pylopdf_fonts_zh_cn

        path = Path(pylopdf_fonts_zh_cn.sans_path())
    family = ImageFont.truetype(str(path), 12).getname()[0] or "Noto Sans SC"
    return CjkFont(path=path, family=family)


@functools.lru_cache(maxsize=32)
def pil_font(size: float, configured: str | None = None) -> ImageFont.FreeTypeFont:
    """The font at `size` pixels per em (fractional sizes allowed: subtitles match libass's scaling)."""
    return ImageFont.truetype(str(cjk_font(configured).path), size)
