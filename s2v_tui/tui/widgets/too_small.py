"""Below the smallest size the studio is designed for, say so instead of drawing a garbled screen."""

from __future__ import annotations

from textual.widgets import Static

MIN_SIZE = (60, 20)
"""Columns × rows every screen is laid out for (narrow mode shows one pane at a time down to this)."""


def too_small(width: int, height: int) -> bool:
    return width < MIN_SIZE[0] or height < MIN_SIZE[1]


class TooSmall(Static):
    """Shown alone (TCSS `.-too-small`) while the terminal is below `MIN_SIZE`."""

    def show_size(self, width: int, height: int) -> None:
        self.update(f"s2v needs a terminal of at least {MIN_SIZE[0]}×{MIN_SIZE[1]}; this one is {width}×{height}.\n"
                    "Make the window bigger (or the font smaller). Nothing is lost meanwhile; ctrl+q quits.")
