"""The takes dialog: every keyframe, voice and clip a shot has had, with a picture of the highlighted one
(terminal graphics where the terminal has them, coloured half cells otherwise), and keys to choose one
or bring your own file. It only shows and answers; the studio acts on the answer (`TakesMixin`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from s2v_tui.domain.shot import Stage
from s2v_tui.tui.takes_session import TakeView
from s2v_tui.tui.widgets.keyframe_preview import ImageRenderer, make_image


@dataclass(frozen=True)
class TakesAnswer:
    """What the user asked for: use take `number` of `stage` — or, with no stage, bring their own file."""

    stage: Stage | None = None
    number: int | None = None


def _line(view: TakeView) -> str:
    row = view.row
    mark = "●" if row.chosen else " "
    who = "your file" if row.by_user else row.backend
    pinned = " · chosen by you" if row.pinned else ""
    return f"{mark} {row.stage.value:<8} {row.number:>2}  {row.created_at.astimezone():%m-%d %H:%M}  {who}{pinned}"


class TakesScreen(ModalScreen[TakesAnswer | None]):
    """The takes of one shot. enter: use the highlighted take · i: bring your own file."""

    DEFAULT_CSS = """
    TakesScreen #takes-list { width: 1fr; height: 1fr; }
    TakesScreen #takes-side { width: 40; height: 1fr; padding-left: 1; }
    TakesScreen #takes-side .picture { height: 1fr; }
    TakesScreen #take-about { height: auto; max-height: 8; }
    TakesScreen #takes-row { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="takes-close"),
        Binding("enter", "use", "Use take", id="takes-use", show=False),
        Binding("i", "bring", "Your own file", id="takes-import"),
    ]

    def __init__(self, title: str, views: list[TakeView], *, renderer: ImageRenderer = "auto") -> None:
        super().__init__(classes="dialog")
        self.heading, self.views, self.renderer = title, views, renderer

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body -wide"):
            yield Static(self.heading, classes="dialog-title")
            with Horizontal(id="takes-row"):
                options = [None if view is None else Option(_line(view), id=f"{view.row.stage.value}:{view.row.number}")
                           for view in self._options()]
                yield OptionList(*options, id="takes-list", markup=False)
                with Vertical(id="takes-side"):
                    yield Static("", id="take-about")
                    yield Vertical(id="take-picture")
            yield Static("enter: use this take · i: use your own picture, clip or voice · escape: close"
                         + ("" if self.views else "\nno takes yet: render the shot first (or press i)"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        listing.focus()
        chosen = next((i for i, v in enumerate(self._options()) if v is not None and v.row.chosen), 0)
        if self.views:
            listing.highlighted = chosen

    def _options(self) -> list[TakeView | None]:
        """The views in option order (None where a separator is)."""
        laid: list[TakeView | None] = []
        for index, view in enumerate(self.views):
            if index and view.row.stage != self.views[index - 1].row.stage:
                laid.append(None)
            laid.append(view)
        return laid

    @property
    def highlighted(self) -> TakeView | None:
        index = self.query_one(OptionList).highlighted
        laid = self._options()
        return laid[index] if index is not None and 0 <= index < len(laid) else None

    @on(OptionList.OptionHighlighted)
    async def _show(self) -> None:
        view = self.highlighted
        about = self.query_one("#take-about", Static)
        box = self.query_one("#take-picture", Vertical)
        await box.remove_children()
        if view is None:
            about.update("")
            return
        row = view.row
        lines = [f"{row.stage.value} take {row.number}" + (" (in use)" if row.chosen else ""),
                 f"{'your file' if row.by_user else row.backend + (' / ' + row.model if row.model else '')}",
                 view.detail, row.prompt or ""]
        about.update("\n".join(line for line in lines if line))
        if view.picture is not None:
            await box.mount(make_image(self.renderer, view.picture, classes="picture"))

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_use()

    def action_use(self) -> None:
        view = self.highlighted
        if view is not None:
            self.dismiss(TakesAnswer(view.row.stage, view.row.number))

    def action_bring(self) -> None:
        self.dismiss(TakesAnswer())

    def action_close(self) -> None:
        self.dismiss(None)
