"""The render pane: a progress bar per stage with counts, an overall bar with ETA, what the next render
reuses or rebuilds, and the final video (path, duration, size) with "open folder" and "play".

The screen feeds it a `RunTally`, a plan summary and a `FinalInfo`; the buttons only post messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.clock import Clock
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Label, ProgressBar, Static

from s2v_tui.tui.session import FinalInfo
from s2v_tui.tui.tally import STAGES, RunTally, idle_label

REDRAW_SECONDS = 0.15
"""Bars and counts are redrawn at most this often during a run (each redraw costs a layout pass)."""


def set_text(widget: Static, text: str, *, layout: bool = False) -> None:
    """Update a Static only when its text changes; one-line ones skip the (expensive) layout pass."""
    if getattr(widget, "_s2v_text", None) != text:
        widget._s2v_text = text  # type: ignore[attr-defined]
        widget.update(text, layout=layout)


def set_bar(bar: ProgressBar, total: int, progress: float) -> None:
    """Move a bar only when its numbers change (an empty stage shows as 0 of 1, not as "indeterminate")."""
    total = max(1, total)
    if bar.total != total or bar.progress != progress:
        bar.update(total=total, progress=progress)


def human_size(size: int) -> str:
    """1536 → "1.5 KB"."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_duration(seconds: float | None) -> str:
    """78.0 → "1:18.0"."""
    if seconds is None:
        return "?"
    minutes, rest = divmod(round(seconds, 1), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def headline(tally: RunTally) -> str:
    """The pane's first line: what runs, how it ended, or (idle) the last job's result."""
    if tally.status == "idle":
        return tally.note or "idle"
    if tally.status == "running":
        return f"{tally.job}: running — escape cancels"
    if tally.status == "not started":
        return f"{tally.job}: not started — {tally.note}"
    took = f" in {tally.seconds:.1f}s" if tally.seconds is not None else ""
    text = f"{tally.job}: {tally.status}{took}"
    return text + (f" — {tally.main_failure} · details in the log (6)" if tally.main_failure else "")


class RenderPane(VerticalScroll):
    """Stage bars, plan, final file."""

    @dataclass
    class ActionRequested(Message):
        """"open-folder" or "play" was pressed; handle with `on_render_pane_action_requested`."""

        pane: RenderPane
        action: str

        @property
        def control(self) -> RenderPane:
            return self.pane

    def __init__(self, *, id: str | None = None, clock: Clock | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        """Injected in snapshot tests so the ETA never depends on wall-clock time."""
        self._tally: RunTally | None = None
        self._eta = ""
        self._final: FinalInfo | None = None
        self._redraw: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("idle", id="run-status")
        with Horizontal(classes="bar-row -overall"):
            yield Label("overall", classes="bar-label")
            yield ProgressBar(total=100, show_eta=False, id="bar-overall", clock=self._clock)
            yield Static("", id="count-overall", classes="bar-count")
        for stage in STAGES:
            with Horizontal(classes="bar-row", id=f"row-{stage}"):
                yield Label(stage, classes="bar-label")
                yield ProgressBar(total=1, show_eta=False, show_percentage=False, id=f"bar-{stage}",
                                  clock=self._clock)
                yield Static("", id=f"count-{stage}", classes="bar-count")
        yield Static("no final video yet — press R to render", id="final-info")
        yield Static("", id="plan-summary")
        with Horizontal(classes="toolbar"):
            yield Button("Open folder", id="open-folder", compact=True)
            yield Button("Play", id="play", compact=True)

    def show_tally(self, tally: RunTally, *, eta: str = "") -> None:
        """Draw `tally` soon: live updates are batched (see `REDRAW_SECONDS`); the latest one wins.

        A running or finished job shows its own counts; an idle tally (`tally.plan_tally`) shows how
        much of the project is up to date, with `tally.note` (the last job's result) as its headline.
        """
        self._tally, self._eta = tally, eta
        if self._redraw is None:
            self._redraw = self.set_timer(REDRAW_SECONDS, self._draw_tally)

    def _draw_tally(self) -> None:
        self._redraw = None
        tally = self._tally
        if tally is None:
            return
        idle = tally.status == "idle"
        status = self.query_one("#run-status", Static)
        set_text(status, headline(tally), layout=True)
        status.set_classes(f"-{tally.status.replace(' ', '-')}")
        fraction = tally.built_fraction if idle else tally.fraction
        set_bar(self.query_one("#bar-overall", ProgressBar), 100, round(100 * fraction))  # whole percent: fewer repaints
        set_text(self.query_one("#count-overall", Static), "" if idle else self._eta)
        for stage, counts in tally.stages.items():
            row = self.query_one(f"#row-{stage}")
            visible = counts.total > 0 or stage != "storyboard"  # storyboard only while it runs
            if row.display != visible:
                row.display = visible
            set_bar(self.query_one(f"#bar-{stage}", ProgressBar), counts.total,
                    counts.cached if idle else counts.progress)
            label = idle_label(counts) if idle else counts.label() if counts.total else ""
            set_text(self.query_one(f"#count-{stage}", Static), label)

    def show_plan(self, summary: str) -> None:
        set_text(self.query_one("#plan-summary", Static), summary, layout=True)

    def show_final(self, info: FinalInfo | None, *, stale: bool = False, job: str | None = None,
                   whole_project: bool = False) -> None:
        """The film line: where it is — and whether it is out of date, or being remade by `job`."""
        self._final = info
        shown = f"final: {info.relative} · {human_duration(info.duration)} · {human_size(info.size)}" if info else ""
        if job is not None and whole_project:
            text = "final video: made at the end of this render" + (f" (replaces {info.relative})" if info else "")
        elif info is None:
            text = "no final video yet — press R to render"
        elif stale or job is not None:
            text = f"{shown} — out of date: R rebuilds it"
        else:
            text = shown
        set_text(self.query_one("#final-info", Static), text, layout=True)
        self.query_one("#final-info", Static).set_class(info is not None and (stale or job is not None), "-stale")

    def show_job_started(self, job: str, *, whole_project: bool) -> None:
        """A job began: the film and plan lines stop describing the state before it."""
        self.show_final(self._final, job=job, whole_project=whole_project)
        self.show_plan("checking what to build…")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            self.post_message(self.ActionRequested(self, event.button.id))
