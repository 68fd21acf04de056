"""The shot list's columns: sized to their content and to the width there is, in terminal cells. No Textual.

Fixed widths cut the camera column (`vertical c…`) beside forty empty cells at 160 columns and pushed
the last columns off the edge at 60. Here every column is as wide as its longest value; when the
width runs short, the subject gives way first (down to `MIN_SUBJECT`), then the camera column (down to
`MIN_CAMERA`, with an ellipsis), then the stage columns switch to one-glyph statuses. Nothing is ever
dropped silently: below what even that fits, the studio says the terminal is too small.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style

from s2v_tui.tui.shot_rows import ShotRow

STAGE_COLUMNS = (("keyframe", "key"), ("voice", "voice"), ("clip", "clip"), ("segment", "seg"))
COMPACT_HEADERS = {"keyframe": "key", "voice": "voi", "clip": "cli", "segment": "seg"}
MIN_SUBJECT = 10
MIN_CAMERA = 8
STATUS_LOOK = {
    "pending": ("·", Style(dim=True)),
    "done": ("done", Style(color="green")),
    "failed": ("FAIL", Style(color="red", bold=True)),
    "stale": ("stale", Style(color="yellow")),
    "skipped": ("skip", Style(dim=True)),
}
COMPACT_LOOK = {"done": "✓", "failed": "✗", "stale": "~", "skipped": "-", "pending": "·"}
"""One-glyph statuses for narrow terminals (the `?` screen explains them)."""


def clip_cells(text: str, cells: int) -> str:
    """Cut `text` to at most `cells` terminal cells (CJK characters take two), with an ellipsis."""
    text = " ".join(text.split())
    if cell_len(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        width = cell_len(ch)
        if used + width > cells - 1:
            break
        out.append(ch)
        used += width
    return "".join(out) + "…"


def fit(text: str, cells: int) -> str:
    """`text` clipped and padded to exactly `cells` cells."""
    text = clip_cells(text, cells)
    return text + " " * (cells - cell_len(text))


def status_look(status: str, *, compact: bool = False) -> tuple[str, Style]:
    if status.startswith("running"):
        return f"{status.partition(':')[2] or '0':>3}%", Style(color="cyan", bold=True)
    text, style = STATUS_LOOK.get(status, (status, Style()))
    return (COMPACT_LOOK.get(status, text) if compact else text), style


@dataclass(frozen=True)
class Columns:
    """Widths in cells of: sequence, subject, camera, length, each stage; and whether statuses are glyphs."""

    number: int
    subject: int
    camera: int
    length: int
    stage: int
    compact: bool

    @property
    def used(self) -> int:
        """Cells the row takes: a leading space, then each column followed by a space."""
        widths = (self.number, self.subject, self.camera, self.length, *(self.stage,) * len(STAGE_COLUMNS), 1)
        return 1 + sum(width + 1 for width in widths)

    def headers(self) -> list[str]:
        stages = [COMPACT_HEADERS[s] if self.compact else label for s, label in STAGE_COLUMNS]
        return ["#", "subject", "camera", "len", *stages, "L"]

    def widths(self) -> list[int]:
        return [self.number, self.subject, self.camera, self.length, *(self.stage,) * len(STAGE_COLUMNS), 1]


def layout(rows: list[ShotRow], width: int) -> Columns:
    """Column widths for `rows` in `width` cells (see the module docstring for what gives way first)."""
    number = max([1, *(len(str(row.sequence)) for row in rows)])
    camera = max([cell_len("camera"), *(cell_len(row.camera) for row in rows)])
    length = max([cell_len("len"), *(cell_len(row.duration) for row in rows)])
    columns = Columns(number, 0, camera, length, 5, False)
    room = width - columns.used
    if room < MIN_SUBJECT:  # the camera column gives way first…
        columns = Columns(number, 0, max(MIN_CAMERA, camera - (MIN_SUBJECT - room)), length, 5, False)
        room = width - columns.used
    if room < MIN_SUBJECT:  # …then the statuses become glyphs ("100%" is the widest)
        columns = Columns(number, 0, columns.camera, length, 4, True)
        room = width - columns.used
    return Columns(number, max(room, MIN_SUBJECT // 2), columns.camera, length, columns.stage, columns.compact)
