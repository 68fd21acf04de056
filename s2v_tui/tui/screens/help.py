"""The `?` screen: every key of the current screen and the app, as remapped by `[keymap]` in config.toml,
and the keys for editing text in a field."""

from __future__ import annotations

from rich.table import Table
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from s2v_tui.tui.widgets.fields import EDITING_KEYS


def as_bindings(bindings: list[BindingType]) -> list[Binding]:
    return [b if isinstance(b, Binding) else Binding(*b) for b in bindings]


def key_display(app: App[object], binding: Binding, keymap: dict[str, str]) -> str:
    """How the binding's keys show ("R", "^r"), after any `[keymap]` override of its id."""
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return ", ".join(app.get_key_display(binding.with_key(key.strip())) for key in keys.split(","))


def binding_rows(app: App[object], bindings: list[BindingType],
                 keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(keys, what it does, binding id) for each described binding, with keymap overrides applied."""
    return [(key_display(app, item, keymap), item.tooltip or item.description, item.id or "")
            for item in as_bindings(bindings) if item.description]


def keys_by_action(app: App[object], bindings: list[BindingType], keymap: dict[str, str]) -> dict[str, str]:
    """Action string ("render_all", "regenerate('clip')") → its keys as shown, for the palette."""
    found: dict[str, str] = {}
    for item in as_bindings(bindings):
        found.setdefault(item.action, key_display(app, item, keymap))  # the first binding is the main one
    return found


WIDE_ENOUGH_FOR_IDS = 100
"""Below this many columns the binding-id column is left out (descriptions need the room)."""


class HelpScreen(ModalScreen[None]):
    """Lists the bindings of `for_screen` and of the app."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help-close")]

    def __init__(self, for_screen: Screen[object] | None, keymap: dict[str, str]) -> None:
        super().__init__(classes="dialog")
        self.for_screen = for_screen
        self.keymap = keymap
        self.rows: list[tuple[str, str, str]] = []
        """What the table lists: (keys, action, binding id)."""

    def compose(self) -> ComposeResult:
        show_ids = self.app.size.width >= WIDE_ENOUGH_FOR_IDS
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("key", no_wrap=True)
        table.add_column("action")
        if show_ids:
            table.add_column(r"id (for \[keymap])", style="dim", no_wrap=True)

        def row(keys: str, text: str, binding_id: str = "") -> None:
            table.add_row(keys, text, *([binding_id] if show_ids else []))

        sections = []
        if self.for_screen is not None:
            sections.append(("this screen", list(type(self.for_screen).BINDINGS)))
            sections += [(title, list(bindings)) for title, bindings in getattr(self.for_screen, "HELP_PANES", ())]
        sections.append(("everywhere", list(type(self.app).BINDINGS)))
        for title, bindings in sections:
            row("", f"[b u]{title}[/]")  # headings in the wide column: the key column stays narrow
            for keys, text, binding_id in binding_rows(self.app, bindings, self.keymap):
                self.rows.append((keys, text, binding_id))
                row(keys, text, binding_id)
        row("", "[b u]editing text (in a field)[/]")
        for keys, text in EDITING_KEYS:
            self.rows.append((keys, text, ""))
            row(keys, text)
        ids = r'Remap in config.toml: \[keymap] render-all = "ctrl+r"' if show_ids else \
            "A wider terminal also shows each key's id, for [keymap] in config.toml"
        with Vertical(classes="dialog-body -wide"):
            yield Static("[b]Keys[/b] — single letters work when no text field has focus (escape leaves one)",
                         classes="dialog-title")
            with VerticalScroll():
                yield Static(table)
            yield Static(f"{ids} · escape closes", classes="dialog-hint", markup=show_ids)
