"""The shot form: subject, detail, narration, camera, tone and length, plus the prompt that will be sent.

Edits are announced with `ShotDetail.FieldChanged`; the screen applies them through the session and
answers with `show_derived` (the new prompt, the reading-speed warning). Programmatic updates never
echo back as edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TextArea

from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.shot import Shot
from s2v_tui.tui.widgets.fields import FieldArea, FieldInput


def camera_options(language: str) -> list[tuple[str, CameraMove]]:
    """The dropdown's entries in the project's language (the stored value stays the Chinese label)."""
    return [(move.label(language), move) for move in CameraMove]


class ShotDetail(VerticalScroll):
    """Edit one shot. Empty (with a hint) until `show` is called.

    Choosing the pane focuses the form itself, not a field: keys stay commands until `enter`/`e`
    enters the first field (cursor at the end, nothing selected) and `escape` leaves it.
    """

    BINDINGS = [Binding("enter,e", "edit", "Edit", tooltip="Edit the shot's fields (escape leaves them)",
                        id="shot-edit")]

    @dataclass
    class FieldChanged(Message):
        """A field was edited; handle with `on_shot_detail_field_changed`."""

        detail: ShotDetail
        shot_id: str
        field: str
        value: Any

        @property
        def control(self) -> ShotDetail:
            return self.detail

    def __init__(self, *, id: str | None = None, language: str = "en") -> None:
        super().__init__(id=id)
        self.language = language
        self.shot_id: str | None = None
        self._prompt = ""

    def compose(self) -> ComposeResult:
        yield Static("no shot selected — generate a storyboard (g) or insert a shot (n)", id="detail-empty")
        with Horizontal(classes="field-row"):
            yield Label("subject", classes="field-label")
            yield FieldInput(id="field-subject", compact=True, placeholder="who or what the shot shows")
        with Horizontal(classes="field-row"):
            yield Label("tone", classes="field-label")
            yield FieldInput(id="field-tone", compact=True, placeholder="e.g. calm, warm")
            yield Label("secs", classes="field-label -short")
            yield FieldInput(id="field-duration", compact=True, placeholder="auto", classes="-short")
        # The camera row comes last of the one-line rows: its dropdown opens over full-width rows only.
        # Where the open list crosses the edge of a narrower widget below it, Textual's compositor
        # splits a CJK character there into two spaces (`围绕主  拍摄`).
        with Horizontal(classes="field-row"):
            yield Label("camera", classes="field-label")
            yield Select(camera_options(self.language), id="field-camera", compact=True, allow_blank=False,
                         value=CameraMove.PUSH_IN)
        yield Label("detail (what the picture shows)", classes="field-title")
        yield FieldArea(id="field-detail", soft_wrap=True, compact=True, classes="-multiline")
        yield Label("narration (spoken and subtitled)", classes="field-title")
        yield FieldArea(id="field-narration", soft_wrap=True, compact=True, classes="-multiline")
        yield Static("", id="narration-warning", classes="-warning")
        yield Label("prompt that will be sent", classes="field-title")
        yield Static("", id="prompt-preview")

    def show(self, shot: Shot | None, *, language: str | None = None, prompt: str = "", warning: str | None = None,
             read_only: bool = False) -> None:
        """Fill the form with `shot` (None clears it) without posting `FieldChanged`."""
        self.shot_id = shot.id if shot else None
        self.set_class(shot is None, "-empty")
        if shot is None:
            return
        with self.prevent(Input.Changed, TextArea.Changed, Select.Changed):
            if language is not None and language != self.language:
                self.language = language
                self.query_one("#field-camera", Select).set_options(camera_options(language))
            self._set_input("#field-subject", shot.subject)
            self._set_input("#field-tone", shot.tone)
            self._set_input("#field-duration", "" if shot.duration is None else f"{shot.duration:g}")
            self._set_text("#field-detail", shot.detail)
            self._set_text("#field-narration", shot.narration)
            camera = self.query_one("#field-camera", Select)
            if camera.value != shot.camera:
                camera.value = shot.camera
        self.set_read_only(read_only)
        self.show_derived(prompt=prompt, warning=warning)

    def set_read_only(self, read_only: bool) -> None:
        """Allow or refuse typing (read-only projects, and while a job has the project)."""
        for widget in self.query("Input, TextArea, Select"):
            if isinstance(widget, TextArea):
                if widget.read_only != read_only:
                    widget.read_only = read_only
            elif widget.disabled != read_only:
                widget.disabled = read_only

    def action_edit(self) -> None:
        """Enter the first field with the cursor at the end of its text (nothing selected)."""
        if self.shot_id is None:
            return
        subject = self.query_one("#field-subject", FieldInput)
        if not subject.disabled:
            subject.focus()
            subject.action_end()

    def _set_input(self, selector: str, value: str) -> None:
        widget = self.query_one(selector, FieldInput)
        if widget.value != value:
            widget.load(value)

    def _set_text(self, selector: str, value: str) -> None:
        widget = self.query_one(selector, TextArea)
        if widget.text != value:
            widget.load_text(value)

    def show_derived(self, *, prompt: str, warning: str | None, error: str | None = None) -> None:
        """Update the read-only parts: the prompt, and the inline warning or validation error."""
        self._prompt = prompt
        self.query_one("#prompt-preview", Static).update(prompt)
        message = error or warning or ""
        note = self.query_one("#narration-warning", Static)
        note.update(f"⚠ {message}" if message else "")
        note.set_class(bool(message), "-visible")

    def _changed(self, field: str, value: Any) -> None:
        if self.shot_id is not None:
            self.post_message(self.FieldChanged(self, self.shot_id, field, value))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        field = (event.input.id or "").removeprefix("field-")
        if field == "duration":
            text = event.value.strip()
            try:
                value: Any = float(text) if text else None
            except ValueError:
                self.show_derived(prompt=self._prompt, warning=None,
                                  error=f"length {text!r} is not a number of seconds")
                return
            self._changed(field, value)
        else:
            self._changed(field, event.value)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._changed((event.text_area.id or "").removeprefix("field-"), event.text_area.text)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, CameraMove):
            self._changed("camera", event.value)
