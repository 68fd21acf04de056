"""Small modal dialogs that return a value: confirm (bool), text prompt (str | None), and the
"project is locked" choice. Keyboard first: enter accepts, escape cancels, tab moves between buttons.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from s2v_tui.tui.widgets.fields import EDIT_HINT, FieldInput


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; returns True for yes."""

    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel", id="dialog-cancel"),
        Binding("y", "answer(True)", "Yes", id="dialog-yes"),
        Binding("n", "answer(False)", "No", id="dialog-no"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel", danger: bool = False) -> None:
        super().__init__(classes="dialog")
        self.question, self.yes, self.no, self.danger = question, yes, no, danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Static(self.question, classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; returns it (enter) or None (escape).

    A single-purpose dialog: the old value is selected, so typing replaces it and `→`/`end` keeps it;
    the hint lists the editing keys (undo included).
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(self, question: str, *, value: str = "", placeholder: str = "", hint: str = "") -> None:
        super().__init__(classes="dialog")
        self.question, self.value, self.placeholder, self.hint = question, value, placeholder, hint

    def make_input(self) -> Input:
        return FieldInput(self.value, placeholder=self.placeholder, id="answer")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Static(self.question, classes="dialog-question")
            yield self.make_input()
            yield Static("", id="dialog-error", classes="-warning")
            yield Static(f"{self.hint or 'enter: OK · escape: cancel'}\n{EDIT_HINT}", classes="dialog-hint")

    def on_mount(self) -> None:
        answer = self.query_one("#answer", Input)
        answer.focus()
        answer.select_all()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.submit(event.value)

    def submit(self, value: str) -> None:
        self.dismiss(value)


class LockedDialog(ModalScreen[bool]):
    """The project is open in another s2v: explain, and offer read-only viewing (True) or going back."""

    BINDINGS = [
        Binding("escape", "answer(False)", "Back", id="dialog-cancel"),
        Binding("r", "answer(True)", "Read-only", id="dialog-read-only"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__(classes="dialog")
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-body"):
            yield Static("[b]This project is already open[/b]", classes="dialog-title")
            yield Static(self.message, classes="dialog-question")
            yield Static("Two programs writing one project would lose work, so this one can only look. "
                         "Close the other s2v to edit here.", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open read-only (r)", id="read-only", variant="primary")
                yield Button("Back (esc)", id="back")

    def on_mount(self) -> None:
        self.query_one("#read-only", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "read-only")
