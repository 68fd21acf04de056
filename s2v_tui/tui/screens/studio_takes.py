"""The studio's takes keys: `t` shows the selected shot's takes (choose one, or bring your own picture,
clip or voice), `e` writes the rendered film as a Jianying/CapCut draft. Each checks the state, asks,
then calls `takes_session`; nothing here touches files or backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from s2v_tui.domain.errors import S2VError
from s2v_tui.tui import takes_session
from s2v_tui.tui.screens.dialogs import PromptDialog
from s2v_tui.tui.screens.takes import TakesAnswer, TakesScreen
from s2v_tui.workspace.imports import stage_for_file

if TYPE_CHECKING:
    from s2v_tui.tui.screens.studio import StudioScreen


class TakesMixin:
    """Takes, own files and the draft export for `StudioScreen`."""

    async def action_takes(self: StudioScreen) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id is None:
            self.notify("select a shot first", severity="warning")
            return
        shot = self.session.project.shot(shot_id)
        views = await takes_session.take_views(self.session, shot_id)
        title = f"[b]Takes of shot {shot.sequence}[/b] · {shot.subject}"
        self.app.push_screen(TakesScreen(title, views, renderer=self.image_renderer),
                             lambda answer: self._takes_answered(shot_id, answer))

    def _takes_answered(self: StudioScreen, shot_id: str, answer: TakesAnswer | None) -> None:  # type: ignore[misc]
        if answer is None or not self.can_edit():
            return
        if answer.stage is None or answer.number is None:
            self.action_import_own()
            return
        try:
            take = takes_session.choose(self.session, shot_id, answer.stage, answer.number)
        except S2VError as exc:
            self.report_error("take refused", exc)
            return
        self.took(shot_id, f"{answer.stage.value} take {take.number} in use")

    def took(self: StudioScreen, shot_id: str, what: str) -> None:  # type: ignore[misc]
        """A take changed: show it, and say what a render will do."""
        sequence = self.session.project.shot(shot_id).sequence
        self.log_line("info", f"shot {sequence}: {what}", shot_id)
        self.notify(f"shot {sequence}: {what} — R renders what depends on it", timeout=4)
        self.refresh_rows()
        self.update_title()
        self.show_selected()
        self.schedule_plan(0)

    def action_import_own(self: StudioScreen) -> None:  # type: ignore[misc]
        shot_id = self.selected_shot
        if shot_id is None or not self.can_edit():
            if shot_id is None:
                self.notify("select a shot first", severity="warning")
            return
        sequence = self.session.project.shot(shot_id).sequence
        self.app.push_screen(PromptDialog(
            f"Use your own file for shot {sequence}: a picture (keyframe), a video (clip) or a recording (voice).",
            placeholder="path to the file, e.g. ~/Pictures/harbour.png",
            hint="enter: copy it into the project and use it · escape: cancel"),
            lambda text: self.bring_own(shot_id, text) if text and text.strip() else None)

    @work(exclusive=True, group="takes", exit_on_error=False, description="import")
    async def bring_own(self: StudioScreen, shot_id: str, text: str) -> None:  # type: ignore[misc]
        source = Path(text.strip()).expanduser()
        try:
            stage = stage_for_file(source)
            self.notify(f"checking {source.name}…", timeout=2)
            take = await takes_session.import_own(self.session, shot_id, stage, source)
        except S2VError as exc:
            self.report_error("file refused", exc)
            return
        self.took(shot_id, f"your {source.name} is {stage.value} take {take.number}, in use")

    def action_export_draft(self: StudioScreen) -> None:  # type: ignore[misc]
        if self.refuse_if_busy():
            return
        suggested = takes_session.export_folder(self.session)
        self.app.push_screen(PromptDialog(
            "Write the rendered film as a Jianying (剪映) / CapCut draft folder:", value=str(suggested),
            hint="enter: write it (an earlier export there is replaced) · escape: cancel"),
            lambda text: self.export_draft(Path(text.strip()).expanduser()) if text and text.strip() else None)

    @work(exclusive=True, group="engine", exit_on_error=False, description="export")
    async def export_draft(self: StudioScreen, target: Path) -> None:  # type: ignore[misc]
        self.job = "export"
        self.set_editable()
        self.update_status()
        try:
            done = await takes_session.export_draft(self.session, target)
        except S2VError as exc:
            self.report_error("export refused", exc)
            return
        finally:
            self.job = None
            self.set_editable()
            self.update_status()
        self.log_line("info", f"Jianying/CapCut draft: {done.folder}")
        self.notify(f"{done.shots} shots, {done.seconds:.1f} s\n{done.folder}\nmove it into Jianying's drafts "
                    "folder to open it", title="draft written", timeout=10)
