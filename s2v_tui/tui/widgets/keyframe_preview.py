"""The keyframe preview: the shot's keyframe, and its clip's first and last frames when a clip exists.

Pictures are drawn with textual-image where the terminal has Sixel or Kitty graphics, and otherwise
with `BlockImage`, our own cached half-cell renderer (textual-image's half cells look the same but are
rebuilt on every repaint). textual-image probes the terminal when it is imported, and on a PTY that
reports 0 columns that import dies with ZeroDivisionError (offline-stack.md §7); so the import is
guarded and `BlockImage` takes over whenever textual-image is unusable. A tiny or zero-sized pane
draws nothing rather than failing. Tests ask for textual-image's `HalfcellImage` explicitly.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, Static

from s2v_tui.tui.previews import Preview

ImageRenderer = Literal["auto", "halfcell", "blocks"]

try:  # see the module docstring: this import talks to the terminal and can crash on odd PTYs
    from textual_image.renderable import Image as _AutoRenderable
    from textual_image.renderable.sixel import Image as _SixelRenderable
    from textual_image.renderable.tgp import Image as _TGPRenderable
    from textual_image.widget import HalfcellImage as _HalfcellImage
    from textual_image.widget import Image as _AutoImage

    TEXTUAL_IMAGE_ERROR: str | None = None
    TERMINAL_GRAPHICS = _AutoRenderable in (_SixelRenderable, _TGPRenderable)
    """The terminal answered textual-image's probe for Sixel or Kitty graphics."""
except Exception as exc:  # noqa: BLE001 - any failure means "use our own renderer"
    _HalfcellImage = _AutoImage = None  # type: ignore[assignment,misc]
    TEXTUAL_IMAGE_ERROR = f"{type(exc).__name__}: {exc}"
    TERMINAL_GRAPHICS = False


class BlockImage(Widget):
    """A PIL image drawn with "▀" cells (two pixel rows per cell), scaled to fit, aspect kept."""

    DEFAULT_CSS = "BlockImage { width: 1fr; height: 1fr; }"

    def __init__(self, image: Image.Image | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._source = image
        self._cache: tuple[tuple[int, int], list[Strip]] | None = None

    @property
    def image(self) -> Image.Image | None:
        return self._source

    @image.setter
    def image(self, value: Image.Image | None) -> None:
        self._source, self._cache = value, None
        self.refresh()

    def _strips(self, width: int, height: int) -> list[Strip]:
        if self._cache and self._cache[0] == (width, height):
            return self._cache[1]
        strips: list[Strip] = []
        if self._source is not None and width > 0 and height > 0:
            source = self._source.convert("RGB")
            scale = min(width / source.width, 2 * height / source.height)
            cols, rows = max(1, int(source.width * scale)), max(2, int(source.height * scale) // 2 * 2)
            pixels = source.resize((cols, rows), Image.Resampling.BOX).load()
            assert pixels is not None
            pad = (width - cols) // 2
            for y in range(0, rows, 2):
                segments = [Segment(" " * pad)] if pad else []
                for x in range(cols):
                    top, bottom = pixels[x, y], pixels[x, y + 1]
                    segments.append(Segment("▀", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))))
                strips.append(Strip(segments, pad + cols))
        self._cache = ((width, height), strips)
        return strips

    def render_line(self, y: int) -> Strip:
        strips = self._strips(self.size.width, self.size.height)
        return strips[y] if y < len(strips) else Strip.blank(self.size.width)


def make_image(renderer: ImageRenderer, image: Image.Image | None, *, classes: str) -> Widget:
    """An image widget for `renderer`, falling back to `BlockImage` when textual-image is unusable.

    "auto" uses textual-image only where it adds something — Sixel or Kitty graphics. Where it would
    draw half cells (or shaded blocks) `BlockImage` draws the same half cells in colour but caches them:
    textual-image rescales and rebuilds every cell on each repaint, measured at 20–140 ms per frame
    during a render.
    """
    if renderer == "halfcell" and _HalfcellImage is not None:
        return _HalfcellImage(image, classes=classes)
    if renderer == "auto" and _AutoImage is not None and TERMINAL_GRAPHICS:
        return _AutoImage(image, classes=classes)
    return BlockImage(image, classes=classes)


class KeyframePreview(Vertical, can_focus=True):
    """Keyframe | clip first frame | clip last frame, each with a caption (focusable: its pane has no
    other control, and number keys move focus into the pane they show)."""

    def __init__(self, *, renderer: ImageRenderer = "auto", id: str | None = None) -> None:
        super().__init__(id=id)
        self.renderer = renderer
        self.preview: Preview | None = None

    def compose(self) -> ComposeResult:
        yield Static("no shot selected", id="preview-caption")
        yield Horizontal(id="preview-images")

    async def show(self, preview: Preview | None, caption: str = "") -> None:
        """Replace the pictures (recreating the image widgets drops any terminal-graphics state)."""
        self.preview = preview
        images = self.query_one("#preview-images", Horizontal)
        await images.remove_children()
        notes = list(preview.notes) if preview else []
        self.query_one("#preview-caption", Static).update(" · ".join([caption, *notes]) if caption else
                                                           " · ".join(notes) or "no shot selected")
        if preview is None:
            return
        widgets: list[Widget] = []
        for label, picture in (("keyframe", preview.keyframe), ("clip first", preview.first),
                               ("clip last", preview.last)):
            if picture is None:
                continue
            box = Vertical(Label(label, classes="image-label"), make_image(self.renderer, picture, classes="picture"),
                           classes="image-box")
            widgets.append(box)
        if widgets:
            await images.mount_all(widgets)
