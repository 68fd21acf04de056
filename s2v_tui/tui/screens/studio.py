"""The studio: script, shots, shot form, preview, render pane and log for one open project.

The screen composes the panes and routes: widget messages become session edits, key bindings become
session edits or jobs (`studio_actions.ActionsMixin`), and the engine's events become pane updates
(`studio_jobs.JobsMixin`). Wide
terminals show every pane in a grid; below `NARROW` the `-narrow` class shows one pane at a time with
a one-line pane bar (keys 1–6), so 80×24 over SSH keeps everything reachable.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.clock import Clock
from textual.containers import Container
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from s2v_tui.domain.errors import S2VError
from s2v_tui.domain.shot import Stage
from s2v_tui.engine.plan import Plan
from s2v_tui.tui.screens.studio_actions import ActionsMixin
from s2v_tui.tui.screens.studio_jobs import JobsMixin
from s2v_tui.tui.screens.studio_takes import TakesMixin
from s2v_tui.tui.session import StudioSession
from s2v_tui.tui.shot_rows import shot_rows
from s2v_tui.tui.tally import plan_summary, plan_tally
from s2v_tui.tui.widgets.key_footer import FittedFooter
from s2v_tui.tui.widgets.keyframe_preview import ImageRenderer, KeyframePreview
from s2v_tui.tui.widgets.progress_log import LogEntry, ProgressLog
from s2v_tui.tui.widgets.render_pane import RenderPane, set_text
from s2v_tui.tui.widgets.script_editor import ScriptEditor
from s2v_tui.tui.widgets.shot_detail import ShotDetail
from s2v_tui.tui.widgets.shot_list import ShotList
from s2v_tui.tui.widgets.too_small import TooSmall, too_small
from s2v_tui.tui.words import plural

PANES = (("script", "Script"), ("shots", "Shots"), ("detail", "Shot"), ("preview", "Preview"),
         ("render", "Render"), ("log", "Log"))
PANE_FOCUS = {"script": "#pane-script", "shots": "#pane-shots", "detail": "#pane-detail",
              "preview": "#pane-preview", "render": "#play", "log": "#log-lines"}
"""What gets focus when a pane is chosen with its number key: never a text field (keys stay commands;
`enter`/`e` enters a field on purpose)."""
NARROW = (120, 34)
"""Below this many columns or rows the studio shows one pane at a time."""
AUTOSAVE_SECONDS = 0.5
"""How often pending edits are written: a crash loses at most this much typing (the issue allows 1 s)."""


class StudioScreen(ActionsMixin, JobsMixin, TakesMixin, Screen[None]):
    """One open project. Owns its `StudioSession` until the app closes it."""

    BINDINGS = [
        Binding("g", "generate", "Storyboard", tooltip="Make shots from the script", id="generate-storyboard"),
        Binding("r", "regenerate('keyframe')", "Keyframe", tooltip="Regenerate the selected shot's keyframe",
                id="regenerate-keyframe"),
        Binding("v", "regenerate('clip')", "Clip", tooltip="Regenerate the selected shot's clip",
                id="regenerate-clip"),
        Binding("R", "render_all", "Render", tooltip="Render every shot and the final video", id="render-all"),
        Binding("l", "toggle_lock", "Lock", tooltip="Lock/unlock the shot (kept on regeneration)",
                id="toggle-lock"),
        Binding("t", "takes", "Takes", show=False, tooltip="The shot's takes: choose one, or bring your own file", id="takes"),
        Binding("e", "export_draft", "Export", show=False, tooltip="Write a Jianying/CapCut draft of the film",
                id="export-draft"),
        Binding("escape", "cancel_job", "Cancel", tooltip="Cancel the running job", id="cancel-job"),
        Binding("ctrl+s", "save", "Save", show=False, id="save"),
        Binding("n", "insert_shot", "New shot", show=False, id="insert-shot"),
        Binding("d", "delete_shot", "Delete shot", show=False, id="delete-shot"),
        Binding("shift+up", "move_shot(-1)", "Move up", show=False, id="move-shot-up"),
        Binding("shift+down", "move_shot(1)", "Move down", show=False, id="move-shot-down"),
        Binding("slash", "filter_log", "Filter log", show=False, id="filter-log"),
        Binding("c", "copy_error", "Copy error", show=False, id="copy-error"),
        Binding("o", "open_folder", "Open folder", show=False, tooltip="Open the project folder (its path goes "
                "to the log and the clipboard)", id="open-folder"),
        Binding("p", "play", "Play", show=False, tooltip="Play the final video (no player: its path goes to the "
                "log and the clipboard)", id="play"),
        Binding("y", "copy_path", "Copy path", show=False, tooltip="Copy the final video's path (else the "
                "project folder's)", id="copy-path"),
        Binding("s", "settings", "Settings", show=False, id="settings"),
        Binding("b", "back", "Projects", show=False, id="back-to-projects"),
        *(Binding(str(i), f"show_pane('{name}')", f"{title} pane", show=False, id=f"pane-{name}")
          for i, (name, title) in enumerate(PANES, start=1)),
    ]

    HELP_PANES = (("in the shot list", [b for b in ShotList.BINDINGS if "cursor" not in b.action]),  # type: ignore[union-attr]
                  ("in the script pane", ScriptEditor.BINDINGS), ("in the shot pane", ShotDetail.BINDINGS))
    """Keys of the panes themselves, for the `?` screen."""

    def __init__(self, session: StudioSession, *, image_renderer: ImageRenderer = "auto",
                 show_time: bool = True, clock: Clock | None = None) -> None:
        super().__init__()
        self.session = session
        self.image_renderer = image_renderer
        self.show_time = show_time
        self.clock = clock
        self.plan: Plan | None = None
        self.live: dict[tuple[str, str], str] = {}
        self.active_pane = "shots"
        self._pane_marked = False
        self._plan_timer: Timer | None = None
        self._preview_key: tuple[object, ...] | None = None
        self._saving = False
        self.init_jobs()

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="title-bar")
        yield Static("", id="pane-bar")
        read_only = self.session.read_only
        with Container(id="panes"):
            yield ScriptEditor(self.session.project.script, read_only=read_only, id="pane-script")
            yield ShotList(id="pane-shots")
            yield ShotDetail(id="pane-detail", language=self.session.project.language)
            yield KeyframePreview(renderer=self.image_renderer, id="pane-preview")
            yield RenderPane(id="pane-render", clock=self.clock)
            yield ProgressLog(id="pane-log", show_time=self.show_time)
        yield Static("", id="status-line")
        yield FittedFooter()
        yield TooSmall(id="too-small")

    def on_mount(self) -> None:
        self._apply_size(self.app.size.width, self.app.size.height)
        self.refresh_rows()
        self.update_title()
        self.update_status()
        self.show_selected()
        self.set_interval(AUTOSAVE_SECONDS, self.autosave)
        self.refresh_plan()
        if self.session.read_only:
            self.log_line("info", "opened read-only: another s2v has this project open; nothing here is saved")
        self.show_pane(self.active_pane if self.session.project.shots else "script")

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = too_small(width, height)
        self.set_class(small, "-too-small")
        if small:
            self.query_one(TooSmall).show_size(width, height)
        elif self.is_mounted:
            self.update_status()
        narrow = width < NARROW[0] or height < NARROW[1]
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self._mark_active()

    def _mark_active(self) -> None:
        """Show which pane is active: pane bar, border titles, and (narrow only) which pane is displayed.

        Focus styling is done here rather than with `:focus-within` in TCSS, and the `-active` class only
        changes when narrow: each of those restyles a whole pane subtree, measured at 50–150 ms per focus
        change on a busy machine.
        """
        parts = []
        for index, (name, title) in enumerate(PANES, start=1):
            active = name == self.active_pane
            pane = self.query_one(f"#pane-{name}")
            pane.border_title = f"[b reverse] {index} {title} [/]" if active else f"{index} {title}"
            if self.has_class("-narrow") and pane.has_class("-active") != active:
                pane.set_class(active, "-active")
            style = "reverse bold" if active else "dim"
            parts.append(f"[{style}][@click=screen.show_pane('{name}')] {index} {title} [/][/]")
        set_text(self.query_one("#pane-bar", Static), " ".join(parts))

    def show_pane(self, name: str, *, focus: bool = True) -> None:
        """Make `name` the active pane (the only one shown when narrow) and focus into it."""
        if name != self.active_pane or not self._pane_marked:
            self.active_pane, self._pane_marked = name, True
            self._mark_active()
        if focus:
            target = self.query_one(PANE_FOCUS[name])
            if target.focusable:
                target.focus()

    def action_show_pane(self, name: str) -> None:
        self.show_pane(name)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        pane = next((node for node in event.widget.ancestors_with_self
                     if isinstance(node, Widget) and (node.id or "").startswith("pane-")), None)
        if pane is not None and pane.id != f"pane-{self.active_pane}" and pane.id != "pane-bar":
            self.show_pane(pane.id.removeprefix("pane-"), focus=False)  # type: ignore[union-attr]

    # -- what the panes show -----------------------------------------------------------------
    @property
    def shot_list(self) -> ShotList:
        return self.query_one(ShotList)

    @property
    def selected_shot(self) -> str | None:
        return self.shot_list.selected_shot

    def refresh_rows(self, select: str | None = None) -> None:
        project = self.session.project
        self.shot_list.show(shot_rows(project, self.session.settings.render, self.plan, self.live), select=select)

    def update_title(self) -> None:
        project = self.session.project
        flags = " · [b red]read-only[/]" if self.session.read_only else ""
        state = "unsaved" if self.session.dirty else "saved"
        set_text(self.query_one("#title-bar", Static),
                 f"[b]s2v[/] · {project.title} · {plural(len(project.shots), 'shot')} · {project.format.label} · {state}{flags}")

    def show_selected(self) -> None:
        shot_id = self.selected_shot
        detail = self.query_one(ShotDetail)
        self.query_one(ProgressLog).set_shot(shot_id)
        if shot_id is None:
            detail.show(None)
            self.load_preview(None)
            return
        shot = self.session.project.shot(shot_id)
        detail.show(shot, language=self.session.project.language, prompt=self.session.image_prompt(shot_id),
                    warning=self.session.narration_warning(shot.narration), read_only=not self.editable)
        self.load_preview(shot_id)

    @property
    def editable(self) -> bool:
        """Edits are possible: not read-only, and no job has the project (the engine thread owns it)."""
        return not self.session.read_only and self.job is None

    def set_editable(self) -> None:
        """Make the script and the shot form follow `editable` (called when a job starts and ends)."""
        self.query_one(ScriptEditor).set_read_only(not self.editable)
        self.query_one(ShotDetail).set_read_only(not self.editable)

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def load_preview(self, shot_id: str | None) -> None:
        """Decode the shot's pictures in a thread and show them — unless they are already shown
        (re-mounting images costs a layout pass; a job ending must not redo it for nothing)."""
        preview_pane = self.query_one(KeyframePreview)
        shot = self.session.project.shot(shot_id) if shot_id else None
        key = None if shot is None else (shot.id, shot.sequence, shot.camera, *(
            state.asset.path if state.asset else None for state in (shot.stages[Stage.KEYFRAME],
                                                                    shot.stages[Stage.CLIP])))
        if key == self._preview_key and key is not None:
            return
        self._preview_key = None  # until the new pictures are actually up (this worker may be cancelled)
        if shot is None:
            await preview_pane.show(None)
            return
        preview = await self.session.preview(shot.id)
        await preview_pane.show(preview, caption=f"shot {shot.sequence} · {shot.camera.label(self.session.project.language)}")
        self._preview_key = key

    def schedule_plan(self, delay: float = 0.4) -> None:
        """Recompute fresh/stale soon (debounced: typing does not hash files on every key)."""
        if self._plan_timer is not None:
            self._plan_timer.stop()
        self._plan_timer = self.set_timer(max(delay, 0.01), self.refresh_plan)  # Textual timers divide by it

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def refresh_plan(self) -> None:
        if self.job is not None:
            return  # the engine is changing the project; live events are the truth until it ends
        try:
            plan = await self.session.plan()
        except S2VError as exc:
            self.log_line("warning", f"could not check what is up to date: {exc}")
            return
        self.plan = plan
        self.session.note_final_freshness(plan)
        self.refresh_rows()
        self.show_idle()
        pane = self.query_one(RenderPane)
        pane.show_plan(plan_summary(plan))
        pane.show_final(await self.session.final_info(), stale=plan.final == "stale")

    def show_idle(self) -> None:
        """Nothing runs: the bars show how much of the project is up to date, under the last job's result."""
        if self.job is None and self.plan is not None:
            tally = plan_tally(self.plan)
            tally.note = self.last_headline
            self.query_one(RenderPane).show_tally(tally)

    async def autosave(self) -> None:
        if self.session.dirty and not self.session.read_only and not self._saving:
            self._saving = True
            try:
                await self.session.save()
            except (S2VError, OSError) as exc:
                self.report_error("autosave failed", exc)
            finally:
                self._saving = False
        self.update_title()

    def log_line(self, level: str, text: str, shot_id: str | None = None, when: Any = None, *,
                 wrap: bool = True) -> None:
        self.query_one(ProgressLog).add(LogEntry(when, level, text, shot_id, wrap))  # type: ignore[arg-type]

    def report_error(self, what: str, exc: BaseException | str, hint: str | None = None) -> None:
        """An error the user must see: a notification plus a log line that says what to do."""
        message = exc.message if isinstance(exc, S2VError) else str(exc)
        hint = hint or (exc.hint if isinstance(exc, S2VError) else None)
        self.log_line("error", f"{what}: {message}" + (f" — {hint}" if hint else ""))
        self.notify(f"{message}\n{hint}" if hint else message, title=what, severity="error", timeout=8)

    # -- edits from the panes ----------------------------------------------------------------
    @on(ShotList.Selected)
    def _shot_selected(self, event: ShotList.Selected) -> None:
        self.show_selected()

    @on(ShotList.Opened)
    def _shot_opened(self, event: ShotList.Opened) -> None:
        self.show_pane("detail", focus=False)
        self.query_one(ShotDetail).action_edit()

    def leave_field(self) -> bool:
        """If a text field has focus, give focus back to its pane (keys are commands again)."""
        focused = self.app.focused
        if not isinstance(focused, Input | TextArea):
            return False
        pane = next((node for node in focused.ancestors if (getattr(node, "id", None) or "").startswith("pane-")),
                    None)
        name = pane.id.removeprefix("pane-") if pane is not None and pane.id else self.active_pane  # type: ignore[union-attr]
        self.query_one(PANE_FOCUS.get(name, "#pane-shots")).focus()
        return True

    @on(ScriptEditor.Changed)
    def _script_changed(self, event: ScriptEditor.Changed) -> None:
        if self.editable:
            self.session.set_script(event.text)
            self.update_title()

    @on(ScriptEditor.GenerateRequested)
    def _generate_pressed(self) -> None:
        self.action_generate()

    @on(ShotDetail.FieldChanged)
    def _field_changed(self, event: ShotDetail.FieldChanged) -> None:
        if not self.editable:
            return
        detail = self.query_one(ShotDetail)
        try:
            shot = self.session.update_shot(event.shot_id, **{event.field: event.value})
        except ValidationError as exc:
            detail.show_derived(prompt=self.session.image_prompt(event.shot_id), warning=None,
                                error=f"{event.field}: {exc.errors()[0]['msg']}")
            return
        except S2VError as exc:
            self.report_error("edit refused", exc)
            return
        detail.show_derived(prompt=self.session.image_prompt(shot.id),
                            warning=self.session.narration_warning(shot.narration))
        self.refresh_rows()
        self.update_title()
        self.schedule_plan()

    @on(RenderPane.ActionRequested)
    async def _render_pane_action(self, event: RenderPane.ActionRequested) -> None:
        await self.run_action(event.action.replace("-", "_"))
