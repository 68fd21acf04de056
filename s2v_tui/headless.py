"""`s2v --run`: render a story file or a project folder without the TUI.

Its output is an API: `--json` prints one event per line (the engine's own event models), and the
exit code says how the run ended (`domain.errors.ExitCode`, documented in the README). Textual is
never imported here.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import ExitCode, S2VError
from s2v_tui.domain.events import Event, RunFinished
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine
from s2v_tui.reporters import HumanReporter, JsonReporter, Reporter
from s2v_tui.workspace.opening import RunOptions, open_or_create
from s2v_tui.workspace.outcome import error_exit_code, exit_code


async def _run(target: Path, settings: Settings, reporter: Reporter, options: RunOptions) -> ExitCode:
    backends = BackendSet.from_settings(settings)  # unknown backend names fail before anything is written
    folder, project = open_or_create(target, settings, options)
    reporter.project_opened(folder.path, project)
    engine = Engine(folder, settings, backends)
    cancel = CancelToken()
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise SystemExit(int(ExitCode.INTERRUPTED))
        reporter.note("interrupt: stopping cleanly (press Ctrl-C again to quit at once)")
        cancel.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_interrupt)
    finished: RunFinished | None = None
    try:
        event: Event
        async for event in engine.run(project, shots=options.shots,
                                      storyboard="regenerate" if options.regenerate else "auto", cancel=cancel):
            reporter.event(event)
            if isinstance(event, RunFinished):
                finished = event
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await engine.aclose()
        folder.unlock()
    return exit_code(finished, cancelled=cancel.cancelled)


def run_headless(target: Path, settings: Settings, *, json_lines: bool, options: RunOptions) -> int:
    reporter: Reporter = JsonReporter(sys.stdout) if json_lines else HumanReporter(sys.stderr)
    try:
        code = asyncio.run(_run(target, settings, reporter, options))
    except S2VError as exc:
        reporter.error(exc)
        return int(error_exit_code(exc))
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    reporter.close()
    return int(code)
