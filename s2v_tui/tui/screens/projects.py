"""The projects screen: every project in the projects directory, and create / open / rename /
duplicate / delete. File work runs in thread workers through `ProjectLibrary`; opening hands the
folder to the app, which owns the studio session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from s2v_tui.domain.errors import S2VError
from s2v_tui.storage.project_store import ProjectFolder, ProjectSummary
from s2v_tui.tui.library import ProjectLibrary
from s2v_tui.tui.screens.dialogs import ConfirmDialog, PromptDialog
from s2v_tui.tui.screens.path_dialog import PathDialog
from s2v_tui.tui.shot_columns import clip_cells
from s2v_tui.tui.widgets.key_footer import FittedFooter
from s2v_tui.tui.widgets.render_pane import set_text
from s2v_tui.tui.widgets.too_small import TooSmall, too_small
from s2v_tui.tui.words import fit_parts

FIXED_COLUMNS = (("shots", "shots", 5), ("last render", "rendered", 16), ("status", "status", 8))
WIDE = 80
"""From this many columns the last-render time shows its year."""
SHORT_TIME_EXAMPLE = "12-02 00:51"
HINTS = ("enter open", "f new from file", "n blank", "e rename", "c duplicate", "d delete", "? keys")
"""The hint line, most useful first; what does not fit the width is left out (`?` lists every key)."""


class ProjectsScreen(Screen[None]):
    """The list of projects; the app's first screen."""

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the selected project", id="project-open"),
        Binding("f", "new_from_file", "From script", tooltip="New project from a story file",
                id="project-new-from-file"),
        Binding("n", "new_blank", "Blank", tooltip="New empty project (write the script in the studio)",
                id="project-new-blank"),
        Binding("e", "rename", "Rename", tooltip="Change the selected project's title", id="project-rename"),
        Binding("c", "duplicate", "Duplicate", tooltip="Copy the project with its assets",
                id="project-duplicate"),
        Binding("d", "delete", "Delete", tooltip="Delete the project folder (asks first)", id="project-delete"),
        Binding("s", "settings", "Settings", show=False, tooltip="Backends and models for this session",
                id="project-settings"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="project-refresh"),
    ]

    def __init__(self, library: ProjectLibrary) -> None:
        super().__init__()
        self.library = library
        self.summaries: list[ProjectSummary] = []
        self._filled_width = 0

    def compose(self) -> ComposeResult:
        yield Static(f"[b]s2v[/] · projects in {self.library.settings.projects_dir}", id="title-bar")
        yield DataTable(id="projects", cursor_type="row", zebra_stripes=True)
        yield Static("", id="projects-empty")
        yield Static("", id="status-line")
        yield FittedFooter()
        yield TooSmall(id="too-small")

    def on_mount(self) -> None:
        self.action_refresh()

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.set_class(too_small(width, height), "-too-small")
        self.query_one(TooSmall).show_size(width, height)
        set_text(self.query_one("#status-line", Static), fit_parts(HINTS, width - 2))
        if width != self._filled_width:
            self._fill()

    def _column_widths(self, width: int) -> dict[str, int]:
        """Title and folder share what the fixed columns leave (each column has a cell of padding per side)."""
        fixed = {key: cells for _, key, cells in FIXED_COLUMNS}
        if width < WIDE:
            fixed["rendered"] = len(SHORT_TIME_EXAMPLE)
        rest = width - sum(fixed.values()) - 2 * (len(fixed) + 2) - 2  # 2: room for a vertical scrollbar
        longest = max([8, *(cell_len(item.title) for item in self.summaries)])
        title = max(8, min(longest, rest * 2 // 5))
        return {"title": title, **fixed, "id": max(6, rest - title)}

    def _fill(self, select: str | None = None) -> None:
        """(Re)build the table at the current width, keeping the cursor on the same project."""
        table = self.query_one("#projects", DataTable)
        keep = select or (self.selected.path.name if self.selected else None)
        self._filled_width = self.size.width
        widths = self._column_widths(self.size.width)
        table.clear(columns=True)
        for label, key in (("title", "title"), *((label, key) for label, key, _ in FIXED_COLUMNS), ("folder", "id")):
            table.add_column(label, key=key, width=widths[key])
        for item in self.summaries:
            time_format = "%Y-%m-%d %H:%M" if self.size.width >= WIDE else "%m-%d %H:%M"
            when = item.rendered_at.astimezone().strftime(time_format) if item.rendered_at else "—"
            table.add_row(clip_cells(item.title, widths["title"]), str(item.shots), when, item.status,
                          clip_cells(item.path.name, widths["id"]), key=item.path.name)
        names = [item.path.name for item in self.summaries]
        if keep in names:
            table.move_cursor(row=names.index(keep))

    @property
    def selected(self) -> ProjectSummary | None:
        table = self.query_one("#projects", DataTable)
        if not self.summaries or not 0 <= table.cursor_row < len(self.summaries):
            return None
        return self.summaries[table.cursor_row]

    def action_refresh(self, select: str | None = None) -> None:
        self.load(select)

    @work(exclusive=True, group="projects", exit_on_error=False)
    async def load(self, select: str | None = None) -> None:
        try:
            summaries = await asyncio.to_thread(self.library.list)
        except (S2VError, OSError) as exc:
            self.notify(str(exc), title="cannot list projects", severity="error")
            return
        self.summaries = summaries
        table = self.query_one("#projects", DataTable)
        self._fill(select)
        empty = self.query_one("#projects-empty", Static)
        empty.display = not summaries
        empty.update("No projects yet.\n\n  f  start from a story file (for example examples/lantern.zh.txt)\n"
                     "  n  start a blank project and write the story in the studio")
        table.focus()

    async def _file_job(self, what: str, job: Callable[[], Any]) -> Any:
        """Run blocking project-folder work in a thread; errors become a notification."""
        try:
            return await asyncio.to_thread(job)
        except (S2VError, OSError) as exc:
            hint = f"\n{exc.hint}" if isinstance(exc, S2VError) and exc.hint else ""
            message = exc.message if isinstance(exc, S2VError) else str(exc)
            self.notify(message + hint, title=what, severity="error", timeout=8)
            return None

    def action_open(self) -> None:
        if self.selected is not None:
            self.app.open_project(self.selected.path)  # type: ignore[attr-defined]

    @on(DataTable.RowSelected)
    def _row_chosen(self) -> None:
        self.action_open()

    def action_new_from_file(self) -> None:
        async def create(path: Path) -> ProjectFolder:
            return await asyncio.to_thread(self.library.create_from_script, path)

        def created(folder: ProjectFolder | None) -> None:
            if folder is not None:
                self.app.open_created(folder)  # type: ignore[attr-defined]

        self.app.push_screen(PathDialog("New project from a story file (UTF-8 text):",
                                        base=self.app.launch_dir,  # type: ignore[attr-defined]
                                        accept=create, placeholder="path/to/story.txt"), created)

    def action_new_blank(self) -> None:
        self.app.push_screen(PromptDialog("Title of the new project:", placeholder="The lighthouse"),
                             self._create_blank)

    def _create_blank(self, title: str | None) -> None:
        if title is not None:
            self.create(lambda: self.library.create_blank(title), "new project")

    @work(exclusive=True, group="projects-create", exit_on_error=False)
    async def create(self, make: Callable[[], Any], what: str) -> None:
        folder = await self._file_job(what, make)
        if folder is not None:
            self.app.open_created(folder)  # type: ignore[attr-defined]

    def action_rename(self) -> None:
        item = self.selected
        if item is None:
            return

        def renamed(title: str | None) -> None:
            if title and title.strip() and title.strip() != item.title:
                self.change("rename", lambda: self.library.rename(item.id, title), item.path.name)

        self.app.push_screen(PromptDialog("New title:", value=item.title), renamed)

    def action_duplicate(self) -> None:
        item = self.selected
        if item is not None:
            self.change("duplicate", lambda: self.library.duplicate(item.id), None)

    def action_delete(self) -> None:
        item = self.selected
        if item is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.change("delete", lambda: self.library.delete(item.id), None)

        self.app.push_screen(ConfirmDialog(
            f"Delete “{item.title}”? This removes the folder {item.path.name} with its assets and videos.",
            yes="Delete", danger=True), answered)

    @work(group="projects-change", exit_on_error=False)
    async def change(self, what: str, job: Callable[[], Any], select: str | None) -> None:
        result = await self._file_job(what, job)
        if what == "duplicate" and isinstance(result, str):
            select = result
            self.notify(f"copied as {result}", timeout=3)
        self.load(select)

    def action_settings(self) -> None:
        from s2v_tui.tui.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen(self.app.settings))  # type: ignore[attr-defined]
