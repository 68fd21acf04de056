"""Asking for a file: a path field that completes as you type, and stays open (with the text) on error.

Relative paths mean the folder s2v was started in, like in a shell. `tab` (or `→`) takes the
completion; the dialog only closes when its `accept` callback says the path worked, so a typo costs
one correction, not the whole path.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input, Static

from s2v_tui.domain.errors import S2VError
from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.widgets.fields import FieldInput

Accept = Callable[[Path], Awaitable[Any]]
"""Given the resolved path: the dialog's result, or raises S2VError/OSError to keep the dialog open."""


def resolve(text: str, base: Path) -> Path:
    """`text` as a path: `~` expanded, relative to `base` (the folder s2v was started in)."""
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else base / path


def complete(text: str, base: Path) -> str | None:
    """The first directory entry that extends `text` (folders end with "/"); None if there is none."""
    head, _, prefix = text.rpartition("/")
    folder = resolve(head + "/" if head or text.startswith("/") else ".", base)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for name in names:
        if name.startswith(prefix) and name != prefix and (prefix.startswith(".") or not name.startswith(".")):
            suffix = "/" if (folder / name).is_dir() else ""
            return f"{head}/{name}{suffix}" if head or text.startswith("/") else f"{name}{suffix}"
    return None


class PathSuggester(Suggester):
    """Completes paths relative to `base`, listing folders in a thread (a network mount can be slow)."""

    def __init__(self, base: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base = base

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete, value, self.base) if value else None


class PathInput(FieldInput):
    """`tab` takes the completion when there is one, else moves on as usual."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    def action_complete(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class PathDialog(PromptDialog):
    """Ask for a path; `accept` does the work. Returns its result, or None on escape."""

    def __init__(self, question: str, *, base: Path, accept: Accept, placeholder: str = "") -> None:
        super().__init__(question, placeholder=placeholder,
                         hint=f"relative to {base} · tab completes · enter: OK · escape: cancel")
        self.base, self.accept = base, accept

    def make_input(self) -> Input:
        return PathInput(placeholder=self.placeholder, suggester=PathSuggester(self.base), id="answer")

    def submit(self, value: str) -> None:
        if value.strip():
            self.try_accept(resolve(value, self.base))

    @work(exclusive=True, group="path-dialog", exit_on_error=False)
    async def try_accept(self, path: Path) -> None:
        error = self.query_one("#dialog-error", Static)
        error.update("")
        try:
            result = await self.accept(path)
        except (S2VError, OSError) as exc:
            message = exc.message if isinstance(exc, S2VError) else str(exc)
            hint = exc.hint if isinstance(exc, S2VError) else None
            error.update(f"⚠ {message}" + (f"\n  {hint}" if hint else ""))
            return
        self.dismiss(result)
