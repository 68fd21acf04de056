"""The script editor: the story text (soft-wrapped; Textual measures CJK characters as two cells) and the
"generate storyboard" button.

Typing posts `ScriptEditor.Changed`; the button posts `ScriptEditor.GenerateRequested`. The screen
owns what either means (save, confirm, run). Choosing the pane focuses the editor itself, not its
text: `enter`/`e` starts typing, `escape` stops, so a key meant as a command never lands in the story.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from s2v_tui.tui.widgets.fields import FieldArea


class ScriptEditor(Vertical, can_focus=True):
    """A `TextArea` for the story plus its toolbar."""

    BINDINGS = [Binding("enter,e", "edit", "Edit", tooltip="Type in the story (escape stops)", id="script-edit")]

    @dataclass
    class Changed(Message):
        """The script text changed; handle with `on_script_editor_changed`."""

        editor: ScriptEditor
        text: str

        @property
        def control(self) -> ScriptEditor:
            return self.editor

    @dataclass
    class GenerateRequested(Message):
        """The user asked for a storyboard; handle with `on_script_editor_generate_requested`."""

        editor: ScriptEditor

        @property
        def control(self) -> ScriptEditor:
            return self.editor

    def __init__(self, text: str = "", *, read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = text
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        with Horizontal(classes="toolbar"):
            yield Static("", id="script-stats")
            yield Button("Generate storyboard", id="generate", compact=True, disabled=self._read_only)
        yield FieldArea(self._initial, id="script-text", soft_wrap=True, read_only=self._read_only,
                       placeholder="Write or paste the story here. Blank lines or --- separate scenes.")

    def on_mount(self) -> None:
        self._update_stats(self._initial)

    def set_read_only(self, read_only: bool) -> None:
        """Allow or refuse typing (read-only projects, and while a job has the project)."""
        text = self.query_one("#script-text", TextArea)
        if text.read_only != read_only:
            text.read_only = read_only
        self.query_one("#generate", Button).disabled = read_only

    def action_edit(self) -> None:
        self.query_one("#script-text", TextArea).focus()

    @property
    def text(self) -> str:
        return self.query_one("#script-text", TextArea).text

    def _update_stats(self, text: str) -> None:
        characters = len("".join(text.split()))
        paragraphs = len([p for p in text.split("\n\n") if p.strip()])
        self.query_one("#script-stats", Static).update(f"{characters} chars · {paragraphs} paragraphs")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._update_stats(event.text_area.text)
        self.post_message(self.Changed(self, event.text_area.text))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.GenerateRequested(self))
