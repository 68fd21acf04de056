"""The progress log: every engine message, filterable to all / this shot / errors and by text.

Entries are kept (bounded) so changing the filter redraws from memory; nothing is re-read from disk.
The last error's full text is kept for "copy last error". Paths are written unwrapped (the log scrolls
sideways) so a terminal selection copies them whole.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, RichLog, Select

from s2v_tui.tui.widgets.fields import FieldInput

Level = Literal["debug", "info", "warning", "error"]
FilterMode = Literal["all", "shot", "errors"]
MAX_ENTRIES = 2000
REDRAW_SECONDS = 0.1
"""New lines are written in batches at most this often (a busy render logs many lines a second)."""
LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}


@dataclass(frozen=True)
class LogEntry:
    """One line of the log."""

    when: datetime | None
    level: Level
    text: str
    shot_id: str | None = None
    wrap: bool = True
    """False for paths: one line (the log scrolls sideways) so a terminal selection copies it whole."""


class ProgressLog(Vertical):
    """A `RichLog` with a mode filter (`Select`) and a text filter (`Input`)."""

    def __init__(self, *, id: str | None = None, show_time: bool = True) -> None:
        super().__init__(id=id)
        self.entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self.mode: FilterMode = "all"
        self.current_shot: str | None = None
        self.needle = ""
        self.last_error: str | None = None
        self.show_time = show_time
        """Off in snapshot tests, where wall-clock times would make every screenshot differ."""
        self._pending: list[LogEntry] = []
        self._redraw: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="toolbar"):
            yield Select([("all", "all"), ("this shot", "shot"), ("errors", "errors")], value="all",
                         allow_blank=False, compact=True, id="log-mode")
            yield FieldInput(placeholder="/ filter text", compact=True, id="log-filter")
        yield RichLog(id="log-lines", wrap=True, max_lines=MAX_ENTRIES, markup=False, min_width=20)

    def _matches(self, entry: LogEntry) -> bool:
        if self.mode == "errors" and entry.level != "error":
            return False
        if self.mode == "shot" and (self.current_shot is None or entry.shot_id != self.current_shot):
            return False
        return not self.needle or self.needle in entry.text.lower() or self.needle == (entry.shot_id or "")

    def _line(self, entry: LogEntry) -> Text:
        line = Text()
        if self.show_time and entry.when is not None:
            line.append(entry.when.astimezone().strftime("%H:%M:%S "), style="dim")
        if entry.shot_id:
            line.append(f"{entry.shot_id} ", style="cyan")
        line.append(entry.text, style=LEVEL_STYLE[entry.level])
        line.no_wrap = not entry.wrap
        return line

    def add(self, entry: LogEntry) -> None:
        """Append an entry; it shows at once if it passes the filter."""
        self.entries.append(entry)
        if entry.level == "error":
            self.last_error = f"{entry.shot_id}: {entry.text}" if entry.shot_id else entry.text
        if self._matches(entry):
            self._pending.append(entry)
            if self._redraw is None:
                self._redraw = self.set_timer(REDRAW_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the lines added since the last batch."""
        self._redraw = None
        pending, self._pending = self._pending, []
        lines = self.query_one("#log-lines", RichLog)
        for entry in pending:
            self._write(lines, entry)

    def _write(self, lines: RichLog, entry: LogEntry) -> None:
        # RichLog measures text against the console width (80 headless), so wrap to the pane ourselves.
        width = lines.scrollable_content_region.width
        line = self._line(entry)
        if not entry.wrap:
            width = max(width, line.cell_len)
        lines.write(line, width=width if width > 10 else None)

    def redraw(self) -> None:
        self._pending.clear()
        lines = self.query_one("#log-lines", RichLog)
        lines.clear()
        for entry in self.entries:
            if self._matches(entry):
                self._write(lines, entry)

    def on_resize(self) -> None:
        self.redraw()

    def set_shot(self, shot_id: str | None) -> None:
        """The selected shot changed: the "this shot" filter follows it."""
        if shot_id != self.current_shot:
            self.current_shot = shot_id
            if self.mode == "shot":
                self.redraw()

    def set_mode(self, mode: FilterMode) -> None:
        self.query_one("#log-mode", Select).value = mode

    def focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value in ("all", "shot", "errors") and event.value != self.mode:
            self.mode = event.value  # type: ignore[assignment]
            self.redraw()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.needle = event.value.strip().lower()
        self.redraw()
