"""The studio's key actions: storyboard, regenerate, render, save, lock, insert/delete/move shots, log
filtering, settings. Each is a few lines that check the state, maybe ask, then call the session.

Edits are refused in read-only mode and while a job runs: the engine works on the same project in its
own thread until the job ends, so the project is never changed underneath it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s2v_tui.domain.shot import Stage
from s2v_tui.tui.run_checks import stages_to_call
from s2v_tui.tui.screens.dialogs import ConfirmDialog, PromptDialog
from s2v_tui.tui.widgets.progress_log import ProgressLog
from s2v_tui.tui.words import plural

if TYPE_CHECKING:
    from s2v_tui.tui.screens.studio import StudioScreen


class ActionsMixin:
    """Actions of `StudioScreen` (kept apart to keep each module readable)."""

    def can_edit(self: StudioScreen) -> bool:  # type: ignore[misc]
        if self.session.read_only:
            self.notify("this project is open read-only; close the other s2v to edit it", severity="warning")
            return False
        return not self.refuse_if_busy()

    def action_generate(self: StudioScreen) -> None:  # type: ignore[misc]
        if not self.can_edit():
            return
        if not self.session.project.script.strip():
            self.notify("write or paste the story in the script pane first", severity="warning")
            self.show_pane("script")
            return
        if not self.ready_to_run("storyboard", ("storyboard",)):
            return
        shots = self.session.project.shots
        if not shots:
            self.start_storyboard()
            return
        locked = sum(shot.locked for shot in shots)
        unlocked = len(shots) - locked
        question = (f"Regenerate the storyboard? {plural(unlocked, 'unlocked shot')} will be replaced"
                    + (f"; {plural(locked, 'locked shot')} {'is' if locked == 1 else 'are'} kept." if locked
                       else ". Lock shots (l) to keep them."))
        self.app.push_screen(ConfirmDialog(question, yes="Regenerate"),
                             lambda yes: self.start_storyboard() if yes else None)

    def action_regenerate(self: StudioScreen, stage: str) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id is None or not self.can_edit():
            if shot_id is None:
                self.notify("select a shot first", severity="warning")
            return
        shot = self.session.project.shot(shot_id)
        job = f"regenerate {stage} of shot {shot.sequence}"
        if not self.ready_to_run(job, stages_to_call(self.plan, shot_id=shot_id, regenerate=stage)):
            return
        if stage == "clip":
            self.session.request_regenerate(shot_id, Stage.CLIP)
            self.start_shot_job(shot_id, job)
            return

        def answered(text: str | None) -> None:
            if text is None:
                return
            new_detail = text if text.strip() and text.strip() != shot.detail else None
            self.session.request_regenerate(shot_id, Stage.KEYFRAME, new_detail)
            self.show_selected()
            self.start_shot_job(shot_id, job)

        self.app.push_screen(PromptDialog(
            f"Regenerate the keyframe of shot {shot.sequence} ({shot.subject}).\nChange the detail if you like:",
            value=shot.detail, hint="enter: regenerate · escape: cancel · unchanged text = new variation"),
            answered)

    def action_render_all(self: StudioScreen) -> None:  # type: ignore[misc]
        if not self.session.project.shots:
            self.notify("no shots yet: generate a storyboard first (g)", severity="warning")
            return
        if self.can_edit():
            self.start_render()

    async def action_save(self: StudioScreen) -> None:  # type: ignore[misc]
        if self.can_edit():
            await self.session.save()
            self.update_title()
            self.notify("saved", timeout=2)

    def action_toggle_lock(self: StudioScreen) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id and self.can_edit():
            locked = self.session.toggle_lock(shot_id)
            self.refresh_rows()
            self.notify("locked: kept when the storyboard is regenerated" if locked else "unlocked", timeout=3)

    def action_insert_shot(self: StudioScreen) -> None:  # type: ignore[misc]
        if self.can_edit():
            shot = self.session.insert_shot(after=self.selected_shot)
            self.refresh_rows(select=shot.id)
            self.update_title()
            self.show_selected()
            self.schedule_plan()
            self.show_pane("detail")

    def action_delete_shot(self: StudioScreen) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id is None or not self.can_edit():
            return
        shot = self.session.project.shot(shot_id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.delete_shot(shot_id)
                self.refresh_rows()
                self.update_title()
                self.show_selected()
                self.schedule_plan()

        self.app.push_screen(ConfirmDialog(f"Delete shot {shot.sequence} ({shot.subject})?", yes="Delete",
                                           danger=True), answered)

    def action_move_shot(self: StudioScreen, offset: int) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id and self.can_edit():
            self.session.move_shot(shot_id, offset)
            self.refresh_rows(select=shot_id)
            self.schedule_plan()

    def action_filter_log(self: StudioScreen) -> None:  # type: ignore[misc]
        self.show_pane("log", focus=False)
        self.query_one(ProgressLog).focus_filter()

    def action_log_mode(self: StudioScreen, mode: str) -> None:  # type: ignore[misc]
        self.show_pane("log", focus=False)
        self.query_one(ProgressLog).set_mode(mode)  # type: ignore[arg-type]

    def action_copy_error(self: StudioScreen) -> None:  # type: ignore[misc]
        error = self.query_one(ProgressLog).last_error
        if error is None:
            self.notify("no error to copy", timeout=2)
            return
        self.app.copy_to_clipboard(error)
        self.notify("last error copied to the clipboard (also in the log)", timeout=3)

    def action_settings(self: StudioScreen) -> None:  # type: ignore[misc]
        if not self.refuse_if_busy():
            from s2v_tui.tui.screens.settings import SettingsScreen

            self.app.push_screen(SettingsScreen(self.session.settings, self.session), self._settings_closed)

    def _settings_closed(self: StudioScreen, changed: bool | None) -> None:  # type: ignore[misc]
        if changed:
            self.update_title()
            self.schedule_plan(0)

    def action_back(self: StudioScreen) -> None:  # type: ignore[misc]
        # The app owns sessions (it saves, unlocks and shows the list); queued so this screen's handler
        # is not still running while the app removes the screen.
        self.app.call_later(self.app.run_action, "close_project")
