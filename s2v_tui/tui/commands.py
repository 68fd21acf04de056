"""The command palette (ctrl+p): every studio action by name — "shot: regenerate keyframe",
"render: all", "backend: keyframe → comfy", "project: open …".

Commands call the same screen/app actions as the keys, so the palette and the key map never disagree,
and each shows its key (as remapped by `[keymap]`). s2v's commands come first; Textual's theme,
screenshot and maximize follow (this provider replaces Textual's own, whose entries came first).
The project list for "project: open …" is read once per palette opening, in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from s2v_tui.backends.registry import REGISTRY
from s2v_tui.config import STAGES
from s2v_tui.storage.project_store import ProjectSummary
from s2v_tui.tui.screens.help import keys_by_action
from s2v_tui.tui.words import plural

if TYPE_CHECKING:
    from s2v_tui.tui.app import S2VApp

Command = tuple[str, Callable[[], object], str, str]
"""(name, what it runs, help, its key or "")."""
TEXTUAL_DUPLICATES = frozenset({"Quit", "Keys"})
"""Textual's system commands that s2v's own "app: quit" / "app: keys" replace."""

STUDIO_ACTIONS = (
    ("storyboard: generate", "generate", "make shots from the script (asks before replacing shots)"),
    ("shot: regenerate keyframe", "regenerate('keyframe')", "new keyframe for the selected shot"),
    ("shot: regenerate clip", "regenerate('clip')", "new clip for the selected shot"),
    ("shot: lock / unlock", "toggle_lock", "locked shots survive storyboard regeneration"),
    ("shot: takes", "takes", "every keyframe, voice and clip it has had: choose one"),
    ("shot: use my own picture, clip or voice", "import_own", "copied into the project and used for the shot"),
    ("export: Jianying / CapCut draft", "export_draft", "the rendered film as a draft folder to edit"),
    ("shot: insert", "insert_shot", "a new shot after the selected one"),
    ("shot: delete", "delete_shot", "asks first"),
    ("shot: move up", "move_shot(-1)", ""),
    ("shot: move down", "move_shot(1)", ""),
    ("render: all", "render_all", "build what is missing or stale, then the final video"),
    ("job: cancel", "cancel_job", "stop the running job cleanly; finished work is kept"),
    ("project: save", "save", "write project.json now (edits also save automatically)"),
    ("project: settings", "settings", "backends, models, size, voice, concurrency"),
    ("project: back to the projects list", "back", ""),
    ("project: show folder", "open_folder", ""),
    ("project: play the final video", "play", "prints the path when no player is available"),
    ("log: filter", "filter_log", ""),
    ("log: copy last error", "copy_error", ""),
    ("log: show errors only", "log_mode('errors')", ""),
    ("log: show this shot only", "log_mode('shot')", ""),
    ("log: show everything", "log_mode('all')", ""),
)


class StudioCommands(Provider):
    """Commands for the screen the palette was opened on, plus app-wide ones."""

    async def startup(self) -> None:
        app: S2VApp = self.app  # type: ignore[assignment]
        try:
            self.projects: list[ProjectSummary] = await asyncio.to_thread(app.library.list)
        except Exception:  # noqa: BLE001 - an unreadable projects dir only hides "project: open" commands
            self.projects = []

    def commands(self) -> list[Command]:
        """s2v's own commands first (with their keys), then Textual's theme/screenshot/maximize."""
        from s2v_tui.tui.screens.projects import ProjectsScreen
        from s2v_tui.tui.screens.studio import PANES, StudioScreen

        app: S2VApp = self.app  # type: ignore[assignment]
        screen = self.screen
        keymap = app.settings.keymap
        keys = keys_by_action(app, list(type(app).BINDINGS), keymap)
        keys |= keys_by_action(app, list(type(screen).BINDINGS), keymap)
        found: list[Command] = []
        if isinstance(screen, StudioScreen):
            for name, action, help_text in STUDIO_ACTIONS:
                found.append((name, partial(screen.run_action, action), help_text, keys.get(action, "")))
            for pane, title in PANES:
                found.append((f"view: {title.lower()} pane", partial(screen.show_pane, pane), "",
                              keys.get(f"show_pane('{pane}')", "")))
            for stage in STAGES:
                current = app.settings.backend_for(stage)
                for backend in REGISTRY[stage]:
                    if backend != current:
                        found.append((f"backend: {stage} → {backend}", partial(app.switch_backend, stage, backend),
                                      f"now {current}; applies from the next run", ""))
        if isinstance(screen, ProjectsScreen):
            found.append(("project: new from a story file", partial(screen.run_action, "new_from_file"), "",
                          keys.get("new_from_file", "")))
            found.append(("project: new blank project", partial(screen.run_action, "new_blank"), "",
                          keys.get("new_blank", "")))
        for summary in self.projects:
            found.append((f"project: open {summary.title}", partial(app.open_project, summary.path),
                          f"{plural(summary.shots, 'shot')} · {summary.status}", ""))
        found.append(("app: keys", app.action_help, "every key and its id for [keymap]", keys.get("help", "")))
        found.append(("app: quit", partial(app.run_action, "quit"), "saves first", keys.get("quit", "")))
        for command in app.get_system_commands(screen):
            if command.title not in TEXTUAL_DUPLICATES:
                found.append((f"app: {command.title.lower()}", command.callback, command.help, ""))
        return found

    @staticmethod
    def _display(name: Content | str, key: str) -> Content:
        """The command's name with its key beside it, dimmed: "render: all  R"."""
        name = name if isinstance(name, Content) else Content(name)
        return Content.assemble(name, (f"  {key}", "dim")) if key else name

    async def discover(self) -> Hits:
        for name, callback, help_text, key in self.commands():
            yield DiscoveryHit(self._display(name, key), callback, text=name, help=help_text or None)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for name, callback, help_text, key in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, self._display(matcher.highlight(name), key), callback, text=name,
                          help=help_text or None)
