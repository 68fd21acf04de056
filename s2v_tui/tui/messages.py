"""Messages that carry engine news into the widget tree.

The engine worker posts one `EngineEvent` per engine event. Progress events arrive many times a
second per stage; `can_replace` lets Textual's queue drop a progress update that a newer one for the
same shot and stage has already superseded, so a busy render never floods the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from s2v_tui.domain.events import ErrorInfo, Event, StageProgress


@dataclass
class EngineEvent(Message):
    """One event from `StudioSession.run`; handle with `on_engine_event`."""

    event: Event
    job: str
    """What the worker was doing ("storyboard", "render", "regenerate keyframe"…), for the log and status."""

    def can_replace(self, message: Message) -> bool:
        if not (isinstance(message, EngineEvent) and isinstance(self.event, StageProgress)):
            return False
        newer = message.event
        return (isinstance(newer, StageProgress) and newer.shot_id == self.event.shot_id
                and newer.stage == self.event.stage)


@dataclass
class JobEnded(Message):
    """The engine worker finished (normally, cancelled, or with an error before/around the run)."""

    job: str
    error: ErrorInfo | None = None
    cancelled: bool = False
