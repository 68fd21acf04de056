"""The footer, fitted to the width: keys that do not fit are left out whole, never cut or overlapped.

Textual's `Footer` lays every key out in one row and docks the palette key on the right, so at 60
columns the keys ran under it (`▏^p Commandsq`). This one measures each key and keeps, in order, the
ones that fit beside the palette key — always keeping `?` (every key is listed there).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ALWAYS = frozenset({"help", "app.help"})
"""Actions whose key is never left out (the way to find every other key)."""


def key_width(key: FooterKey) -> int:
    """Cells a compact footer key takes: "key description" plus its right margin."""
    text = cell_len(key.key_display) + (1 + cell_len(key.description) if key.description else 0)
    return text + (2 if key.has_class("-command-palette") else 1)  # its left border / a margin


def fitted(widgets: Iterable[Widget], width: int) -> list[Widget]:
    """The widgets to show in `width` cells: the palette key, `?`, and as many others as fit, in order."""
    widgets = list(widgets)
    keys = [w for w in widgets if isinstance(w, FooterKey)]
    budget = width - sum(key_width(k) for k in keys if k.has_class("-command-palette") or k.action in ALWAYS)
    kept = []
    for widget in widgets:
        if not isinstance(widget, FooterKey) or widget.has_class("-command-palette") or widget.action in ALWAYS:
            kept.append(widget)
        elif key_width(widget) <= budget:
            budget -= key_width(widget)
            kept.append(widget)
        else:
            budget = -1  # keep the order: nothing after a key that did not fit
    return kept


class FittedFooter(Footer):
    """`Footer(compact=True)` that never draws more keys than fit."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._fitted_width = 0

    def compose(self):  # type: ignore[no-untyped-def]
        widgets = list(super().compose())
        self._fitted_width = self.size.width
        yield from fitted(widgets, self.size.width) if self.size.width else widgets

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)
