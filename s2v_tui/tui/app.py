"""The s2v studio app: screens, global keys, keymap, command palette, and the open project's session.

`make_app` builds the app for the CLI, Pilot tests and snapshot tests alike; `run_app` is what `s2v`
and `s2v PROJECT_DIR` call. The app owns at most one `StudioSession` (one locked project) at a time
and closes it — saved and unlocked — before opening another or quitting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.clock import Clock
from textual.notifications import Notify, SeverityLevel
from textual.worker import WorkerCancelled, WorkerFailed

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import ProjectLockedError, S2VError
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.commands import StudioCommands
from s2v_tui.tui.library import ProjectLibrary
from s2v_tui.tui.run_checks import picked_backend_warning
from s2v_tui.tui.screens.dialogs import ConfirmDialog, LockedDialog
from s2v_tui.tui.screens.help import HelpScreen
from s2v_tui.tui.screens.projects import ProjectsScreen
from s2v_tui.tui.screens.studio import StudioScreen
from s2v_tui.tui.session import StudioSession
from s2v_tui.tui.widgets.keyframe_preview import ImageRenderer

STYLES = Path(__file__).parent / "styles"


class S2VApp(App[int]):
    """The studio. Build it with `make_app`."""

    CSS_PATH = [STYLES / "app.tcss", STYLES / "studio.tcss", STYLES / "dialogs.tcss"]
    TITLE = "s2v"
    COMMANDS = {StudioCommands}  # it lists Textual's system commands too, after s2v's own
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", tooltip="Save and quit", priority=True, id="quit"),
        Binding("q", "quit", "Quit", tooltip="Save and quit (when no text field has focus)", id="quit-q"),
        Binding("question_mark", "help", "Keys", tooltip="Show every key", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", tooltip="Every action by name", priority=True,
                show=False, id="command-palette"),  # the footer already shows the palette key on the right
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    def __init__(self, settings: Settings, project_dir: Path | None = None, *,
                 backends: BackendSet | None = None, image_renderer: ImageRenderer = "auto",
                 show_time: bool = True, clock: Clock | None = None, freeze_gc: bool = False) -> None:
        super().__init__()
        self.freeze_gc = freeze_gc
        """Let `freeze_long_lived` act (the real app; tests leave the process's collector alone)."""
        self._settings = settings
        self.project_dir = project_dir
        self.backends = backends
        """Injected backends (tests); None builds them from the settings."""
        self.image_renderer: ImageRenderer = image_renderer
        self.show_time = show_time
        self.clock = clock
        self.launch_dir = Path.cwd()
        """Where s2v was started: relative paths the user types mean this folder, as in a shell."""
        self.library = ProjectLibrary(settings)
        self.session: StudioSession | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value
        self.library.settings = value

    def on_mount(self) -> None:
        self.set_keymap(self._settings.keymap)
        self.push_screen(ProjectsScreen(self.library))
        if self.project_dir is not None:
            self.open_project(self.project_dir)

    @property
    def studio(self) -> StudioScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, StudioScreen)), None)

    # -- sessions ----------------------------------------------------------------------------
    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_project(self, path: Path, read_only: bool = False) -> None:
        """Open a project folder in the studio; a project locked elsewhere may be opened read-only."""
        if self.studio is not None and self.studio.refuse_if_busy():
            return
        await self.close_session()
        try:
            session = await asyncio.to_thread(StudioSession.open, Path(path), self.settings,
                                              read_only=read_only, backends=self.backends)
        except ProjectLockedError as exc:
            if read_only or not await self.push_screen_wait(LockedDialog(exc.message)):
                return
            try:
                session = await asyncio.to_thread(StudioSession.open, Path(path), self.settings, read_only=True,
                                                  backends=self.backends)
            except S2VError as again:
                self._error("cannot open the project", again)
                return
        except S2VError as exc:
            self._error("cannot open the project", exc)
            return
        self.show_session(session)

    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_created(self, folder: ProjectFolder) -> None:
        """Open a project the projects screen has just created (its folder is already locked)."""
        await self.close_session()

        def make() -> StudioSession:
            return StudioSession(folder, folder.load(), self.settings, backends=self.backends)

        try:
            self.show_session(await asyncio.to_thread(make))
        except S2VError as exc:
            folder.unlock()
            self._error("cannot open the new project", exc)

    def show_session(self, session: StudioSession) -> None:
        self.session = session
        self.push_screen(StudioScreen(session, image_renderer=self.image_renderer, show_time=self.show_time,
                                      clock=self.clock))
        self.call_after_refresh(self.freeze_long_lived)

    def freeze_long_lived(self) -> None:
        """Hide the objects that exist now (widgets, modules, the project) from the cyclic collector.

        A full collection walks every tracked object while holding the GIL; with the studio open that
        took 65–105 ms (measured) and froze the UI mid-render. After `gc.freeze()` a full collection only
        walks what was allocated since, 10–50 ms. Called when a project opens and when a job starts.
        """
        if self.freeze_gc:
            gc.freeze()

    async def close_session(self) -> None:
        """Stop any job, save, unlock, and go back to the projects screen."""
        studio, session = self.studio, self.session
        if studio is not None:
            if studio.job is not None and session is not None:
                session.cancel()
                for worker in [w for w in self.workers if w.group == "engine" and not w.is_finished]:
                    with contextlib.suppress(WorkerCancelled, WorkerFailed, TimeoutError):
                        await asyncio.wait_for(worker.wait(), timeout=30)
            while self.screen is not studio and len(self.screen_stack) > 1:
                self.pop_screen()
            if self.screen is studio:
                self.pop_screen()
        self.session = None
        if session is not None:
            try:
                await session.aclose()
            except S2VError as exc:
                self._error("could not save the project", exc)
        projects = next((s for s in self.screen_stack if isinstance(s, ProjectsScreen)), None)
        if projects is not None and studio is not None:
            projects.load(session.folder.path.name if session else None)

    async def on_unmount(self) -> None:
        """However the app ends (quit, run_test exit, an error), save and unlock the open project."""
        session, self.session = self.session, None
        if session is not None:
            session.cancel()
            with contextlib.suppress(S2VError):  # nothing left to show an error on; autosave is ≤ 0.5 s old
                await session.aclose()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications are plain text: they carry paths, provider messages and config keys like
        `[backends]`, which Rich markup would swallow (screens pass markup=True; it is ignored)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_notify(self, event: Notify) -> None:
        """One toast per problem: a notification with the text of one already shown replaces it, whatever
        its title and severity (ten shots failing for the same missing key are one toast, not ten covering
        the screen; the warning on picking a keyless backend becomes the refusal when R is pressed)."""
        new = event.notification
        for shown in list(self._notifications):
            if shown is not new and shown.message == new.message:
                self._unnotify(shown, refresh=False)

    def _error(self, what: str, exc: S2VError) -> None:
        self.notify(f"{exc.message}\n{exc.hint}" if exc.hint else exc.message, title=what, severity="error",
                    timeout=10)

    # -- global actions ----------------------------------------------------------------------
    def _confirm_stop(self, then: str) -> bool:
        """When a job runs, ask before stopping it; returns True if the caller should wait for the answer."""
        studio = self.studio
        if studio is None or studio.job is None:
            return False

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.run_action(then + "_now")

        self.push_screen(ConfirmDialog(f"{studio.job} is running. Stop it? Finished work is kept.",
                                       yes="Stop it"), answered)
        return True

    async def action_quit(self) -> None:
        if not self._confirm_stop("quit"):
            await self.action_quit_now()

    async def action_quit_now(self) -> None:
        await self.close_session()
        self.exit(0)

    async def action_close_project(self) -> None:
        if not self._confirm_stop("close_project"):
            await self.action_close_project_now()

    async def action_close_project_now(self) -> None:
        await self.close_session()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen, self._settings.keymap))

    @work(exclusive=True, group="settings", exit_on_error=False)
    async def switch_backend(self, stage: str, name: str) -> None:
        """Use another backend for one stage from the next run on (the palette's "backend: …")."""
        from s2v_tui.tui.screens.settings import updated_settings

        if self.studio is not None and self.studio.refuse_if_busy():
            return
        settings = updated_settings(self.settings, {"backends": {stage: name}})
        try:
            if self.session is not None:
                await self.session.replace_settings(settings)
        except S2VError as exc:
            self._error(f"cannot use {name} for {stage}", exc)
            return
        self.settings = settings
        warning = picked_backend_warning(settings, [stage])
        if warning:
            # The same text as the refusal a render would get, so that one replaces this one.
            self.notify(warning, title=f"{stage} now uses {name}, which cannot run yet", severity="warning",
                        timeout=10)
        else:
            self.notify(f"{stage} now uses {name} (this session; set [backends] in config.toml to keep it)",
                        timeout=4)
        if self.studio is not None:
            self.studio.schedule_plan(0)


def make_app(settings: Settings, project_dir: Path | None = None, *, backends: BackendSet | None = None,
             image_renderer: ImageRenderer = "auto", show_time: bool = True, clock: Clock | None = None,
             freeze_gc: bool = False) -> S2VApp:
    """The app as the CLI, Pilot tests, snapshot tests and the responsiveness benchmark build it."""
    return S2VApp(settings, project_dir, backends=backends, image_renderer=image_renderer, show_time=show_time,
                  clock=clock, freeze_gc=freeze_gc)


def run_app(settings: Settings, project_dir: Path | None) -> int:
    """`s2v` / `s2v PROJECT_DIR`: run the studio until the user quits; returns the exit code."""
    app = make_app(settings, project_dir, freeze_gc=True)
    result = app.run()
    return int(result or 0)
