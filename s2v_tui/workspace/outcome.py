"""How a finished run is summed up for every front end: an exit code (`--run`), a status (serve)."""

from __future__ import annotations

from s2v_tui.domain.errors import AuthError, BadInputError, ConfigError, ExitCode, S2VError
from s2v_tui.domain.events import RunFinished

BAD_INPUT_CODES = frozenset({BadInputError.code, ConfigError.code, AuthError.code, "unsafe_path", "project_corrupt"})
STATUS_EXIT = {"done": ExitCode.OK, "partial": ExitCode.PARTIAL, "failed": ExitCode.FAILED,
               "cancelled": ExitCode.INTERRUPTED}


def nothing_could_run(finished: RunFinished) -> bool:
    """Every failure was the input's fault (no words, a missing key…): the run never really started."""
    return finished.status == "failed" and bool(finished.failures) and all(
        f.error.code in BAD_INPUT_CODES for f in finished.failures)


def error_exit_code(exc: S2VError) -> ExitCode:
    """The exit code of a run refused before it started: bad input (a missing key included) is 2."""
    return ExitCode.BAD_INPUT if exc.code in BAD_INPUT_CODES else exc.exit_code


def exit_code(finished: RunFinished | None, *, cancelled: bool) -> ExitCode:
    if finished is None:
        return ExitCode.INTERRUPTED if cancelled else ExitCode.ERROR
    if nothing_could_run(finished):
        return ExitCode.BAD_INPUT
    return STATUS_EXIT[finished.status]
