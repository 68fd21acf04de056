"""The shot list: one row per shot with its camera, length, a status cell per stage and a lock marker.

The widget only draws `ShotRow`s it is given and announces which shot the cursor is on; the screen
decides what the statuses are (from the session's plan and the live engine events).

It is a line-API `ScrollView` rather than a `DataTable` because a render changes status cells many
times a second: a DataTable re-renders every cell of every row on any cell update (measured: 40–170 ms
per frame for ten shots under render load), while here only the changed row is redrawn (cached strips).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from s2v_tui.tui.shot_columns import STAGE_COLUMNS, Columns, fit, layout, status_look
from s2v_tui.tui.shot_rows import ShotRow


class ShotList(ScrollView, can_focus=True):
    """Shots as rows under a sticky header; up/down move the cursor."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Previous shot", show=False, id="shot-list-up"),
        Binding("down", "cursor(1)", "Next shot", show=False, id="shot-list-down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, id="shot-list-page-up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, id="shot-list-page-down"),
        Binding("home", "cursor(-100000)", "First shot", show=False, id="shot-list-first"),
        Binding("end", "cursor(100000)", "Last shot", show=False, id="shot-list-last"),
        Binding("enter", "open", "Edit shot", tooltip="Open the selected shot's form", id="shot-list-open"),
    ]
    COMPONENT_CLASSES = {"shot-list--header", "shot-list--cursor", "shot-list--odd"}
    DEFAULT_CSS = """
    ShotList { background: $surface; }
    ShotList > .shot-list--header { color: $text-muted; text-style: bold; }
    ShotList > .shot-list--odd { background: $surface-lighten-1; }
    ShotList > .shot-list--cursor { background: $block-cursor-blurred-background; }
    ShotList:focus > .shot-list--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    """Index of the highlighted row."""

    @dataclass
    class Selected(Message):
        """The cursor moved to a shot; handle with `on_shot_list_selected`."""

        shot_list: ShotList
        shot_id: str

        @property
        def control(self) -> ShotList:
            return self.shot_list

    @dataclass
    class Opened(Message):
        """`enter` on a shot: the user wants to edit it; handle with `on_shot_list_opened`."""

        shot_list: ShotList
        shot_id: str

        @property
        def control(self) -> ShotList:
            return self.shot_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows_shown: list[ShotRow] = []
        self._strips: dict[int, tuple[object, Strip]] = {}
        self._columns: tuple[object, Columns] | None = None

    # -- data --------------------------------------------------------------------------------
    @property
    def selected_shot(self) -> str | None:
        if not 0 <= self.cursor < len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor].shot_id

    def show(self, rows: list[ShotRow], select: str | None = None) -> None:
        """Draw `rows`; keeps the cursor on the same shot (or moves it to `select`)."""
        keep = select or self.selected_shot
        self.rows_shown = list(rows)
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self.refresh()
        ids = [row.shot_id for row in rows]
        target = ids.index(keep) if keep in ids else min(self.cursor, max(0, len(ids) - 1))
        if target != self.cursor or keep not in ids:
            self.cursor = target

    def set_status(self, shot_id: str, stage: str, status: str) -> None:
        """Change one status cell (live progress); only that row is redrawn."""
        for index, row in enumerate(self.rows_shown):
            if row.shot_id == shot_id:
                if row.statuses.get(stage) != status:
                    self.rows_shown[index] = replace(row, statuses={**row.statuses, stage: status})
                    self._refresh_row(index)
                return

    # -- cursor ------------------------------------------------------------------------------
    def action_cursor(self, offset: int) -> None:
        if self.rows_shown:
            self.cursor = max(0, min(len(self.rows_shown) - 1, self.cursor + offset))

    def action_open(self) -> None:
        if self.selected_shot is not None:
            self.post_message(self.Opened(self, self.selected_shot))

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        # keep the row visible below the sticky header
        self.scroll_to_region(Region(0, new, 1, 2), animate=False, force=True)
        if 0 <= new < len(self.rows_shown):
            self.post_message(self.Selected(self, self.rows_shown[new].shot_id))

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows_shown):
            self.cursor = index

    def _refresh_row(self, index: int) -> None:
        if 0 <= index < len(self.rows_shown):
            self.refresh_line(index + 1)  # virtual line: the header is line 0

    def on_focus(self) -> None:
        self._refresh_row(self.cursor)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor)

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.rows_shown) + 1)

    # -- drawing -----------------------------------------------------------------------------
    def _cells(self, row: ShotRow | None, columns: Columns) -> list[tuple[str, Style | None]]:
        widths = columns.widths()
        if row is None:
            return [(fit(text, cells), None) for text, cells in zip(columns.headers(), widths, strict=True)]
        cells: list[tuple[str, Style | None]] = [
            (fit(str(row.sequence), columns.number), None), (fit(row.subject, columns.subject), None),
            (fit(row.camera, columns.camera), None), (fit(row.duration, columns.length), None)]
        for stage, _ in STAGE_COLUMNS:
            text, style = status_look(row.statuses.get(stage, "pending"), compact=columns.compact)
            cells.append((fit(text, columns.stage), style))
        cells.append(("●" if row.locked else " ", Style(color="magenta", bold=True) if row.locked else None))
        return cells

    @property
    def columns(self) -> Columns:
        """The column widths for the rows shown at the current width (recomputed when either changes)."""
        width = self.scrollable_content_region.width
        key = (width, tuple((r.sequence, r.camera, r.duration) for r in self.rows_shown))
        if self._columns is None or self._columns[0] != key:
            self._columns = (key, layout(self.rows_shown, width))
        return self._columns[1]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = None if y == 0 else round(self.scroll_offset.y) + y - 1
        row = self.rows_shown[index] if index is not None and index < len(self.rows_shown) else None
        if index is not None and row is None:
            return Strip.blank(width, self.rich_style)
        cursor = index == self.cursor
        columns = self.columns
        key = (row, cursor, width, columns, self.has_focus, index is not None and index % 2 == 1)
        cached = self._strips.get(-1 if index is None else index)
        if cached is not None and cached[0] == key:
            return cached[1]
        if index is None:
            base = self.rich_style + self.get_component_rich_style("shot-list--header")
        elif cursor:
            base = self.rich_style + self.get_component_rich_style("shot-list--cursor")
        elif index % 2:
            base = self.rich_style + self.get_component_rich_style("shot-list--odd")
        else:
            base = self.rich_style
        segments = [Segment(" ", base)]
        for text, style in self._cells(row, columns):
            segments.append(Segment(text, base + style if style and not cursor else base))
            segments.append(Segment(" ", base))
        strip = Strip(segments).adjust_cell_length(width, base)
        self._strips[-1 if index is None else index] = (key, strip)
        return strip
