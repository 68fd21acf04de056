"""Text fields for the studio's forms: undo everywhere, `ctrl+a` selects all, and no surprise selections.

Textual's `Input` has no undo and selects its whole value on focus, so one stray key after a focus
change replaced a shot's subject for good. `FieldInput` keeps an undo history (typing within
`UNDO_GROUP_SECONDS` is one step, as in `TextArea`) and never selects on focus unless asked (single-purpose
dialogs ask, so typing replaces the old text on purpose). `FieldArea` is a `TextArea` whose `ctrl+a`
selects all instead of going to the line start.
"""

from __future__ import annotations

import time

from textual.binding import Binding
from textual.widgets import Input, TextArea

UNDO_GROUP_SECONDS = 1.0
"""Edits closer together than this are undone together (a burst of typing is one step)."""
UNDO_DEPTH = 200

EDITING_KEYS = (
    ("tab / shift+tab", "next / previous field"),
    ("escape", "leave the text field (single-letter keys work again)"),
    ("ctrl+z / ctrl+y", "undo / redo"),
    ("ctrl+a", "select all (typing replaces the selection)"),
    ("ctrl+u / ctrl+k", "delete to the start / end of the line"),
    ("ctrl+w", "delete the word to the left"),
    ("ctrl+x/c/v", "cut / copy / paste"),
)
"""What the `?` screen and the dialogs say about editing text (the keys below, plus Textual's own)."""

EDIT_HINT = "ctrl+a select all · ctrl+u clear to start · ctrl+z undo"
"""The editing keys a dialog with a text field mentions."""


class FieldInput(Input):
    """A one-line field with undo/redo; `select_on_focus` is off unless asked for."""

    BINDINGS = [
        Binding("ctrl+z", "undo", "Undo", show=False),
        Binding("ctrl+y,ctrl+shift+z", "redo", "Redo", show=False),
        Binding("ctrl+a", "select_all", "Select all", show=False),
    ]

    def __init__(self, value: str | None = None, *, select_on_focus: bool = False, **kwargs: object) -> None:
        super().__init__(value, select_on_focus=select_on_focus, **kwargs)  # type: ignore[arg-type]
        self._undo: list[tuple[str, int]] = []
        self._redo: list[tuple[str, int]] = []
        self._last_edit = 0.0
        self._restoring = False

    def watch_value(self, old: str, new: str) -> None:
        if getattr(self, "_restoring", True) or old == new:  # (True while Input.__init__ sets the value)
            return
        now = time.monotonic()
        if not self._undo or now - self._last_edit > UNDO_GROUP_SECONDS:
            self._undo.append((old, min(self.cursor_position, len(old))))
            del self._undo[:-UNDO_DEPTH]
        self._last_edit = now
        self._redo.clear()

    def load(self, value: str) -> None:
        """Show `value` as the field's starting point (another shot): nothing to undo yet."""
        self._restoring = True
        try:
            self.value = value
        finally:
            self._restoring = False
        self._undo.clear()
        self._redo.clear()

    def _restore(self, source: list[tuple[str, int]], target: list[tuple[str, int]]) -> None:
        if not source:
            return
        value, cursor = source.pop()
        target.append((self.value, self.cursor_position))
        self._restoring = True
        try:
            self.value = value
        finally:
            self._restoring = False
        self.cursor_position = min(cursor, len(value))
        self._last_edit = 0.0  # the next keystroke starts a new undo step

    def action_undo(self) -> None:
        self._restore(self._undo, self._redo)

    def action_redo(self) -> None:
        self._restore(self._redo, self._undo)


class FieldArea(TextArea):
    """A multi-line field: `TextArea` (which has undo) with `ctrl+a` = select all."""

    BINDINGS = [Binding("ctrl+a", "select_all", "Select all", show=False)]
