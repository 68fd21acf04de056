"""The human reporter prints provider messages, titles and paths verbatim (no Rich markup)."""

from __future__ import annotations

import io

from s2v_tui.domain.errors import ConfigError
from s2v_tui.domain.events import ErrorInfo, Failure, RunFinished, StageFailed
from s2v_tui.reporters import HumanReporter

BRACKETED = "no key — set DASHSCOPE_API_KEY (or [dashscope] api_key in config.toml) [/] [bold]x"


def test_bracketed_text_is_printed_as_is() -> None:
    out = io.StringIO()
    reporter = HumanReporter(out)
    error = ErrorInfo(code="config", message=BRACKETED)
    reporter.event(StageFailed(shot_id="shot_01", stage="keyframe", error=error))
    reporter.event(RunFinished(status="failed", final_path="/tmp/[draft]/final.mp4", srt_path=None, duration=1.0,
                               failures=[Failure(shot_id="shot_01", stage="keyframe", error=error)],
                               built={}, cached={}, paid_calls={}, seconds=0.1))
    reporter.error(ConfigError(BRACKETED, hint="edit [render] fps"))
    text = out.getvalue()
    assert text.count("[dashscope] api_key in config.toml) [/] [bold]x") == 3
    assert "/tmp/[draft]/final.mp4" in text and "edit [render] fps" in text
