"""Errors of the service itself (beyond the engine's), and the HTTP answer of every error: one body
shape, `{"code", "message", "hint"}` (plus the original's `errors` list for 422) — never a traceback
or the `str(exc)` of an unexpected error, which the original returned to its clients."""

from __future__ import annotations

from s2v_tui.domain.errors import BadInputError, ConfigError, ProjectLockedError, S2VError
from s2v_tui.workspace.stories_by_id import NotFoundError


class ConflictError(S2VError):
    """The same operation id with another request, or a story busy with another operation."""

    code = "conflict"


class BusyError(S2VError):
    """The queue is full; try again after `retry_after` seconds."""

    code = "busy"

    def __init__(self, message: str, *, hint: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class UnauthorizedError(S2VError):
    code = "unauthorized"


API_CODES: list[tuple[type[S2VError], int, str]] = [
    (UnauthorizedError, 401, "UNAUTHORIZED"),
    (NotFoundError, 404, "NOT_FOUND"),
    (ConflictError, 409, "CONFLICT"),
    (ProjectLockedError, 409, "STORY_LOCKED"),
    (BusyError, 503, "BUSY"),
    (ConfigError, 502, "NOT_CONFIGURED"),  # the service's own config (a missing server…), not the request
    (BadInputError, 422, "VALIDATION_ERROR"),
]
"""Most specific first; any other `S2VError` is a provider or backend failure: 502."""


def http_status(exc: S2VError) -> tuple[int, str]:
    for kind, status, code in API_CODES:
        if isinstance(exc, kind):
            return status, code
    return 502, "PROVIDER_ERROR"


def error_body(exc: S2VError) -> dict[str, object]:
    status, code = http_status(exc)
    body: dict[str, object] = {"code": code, "message": exc.message, "hint": exc.hint}
    if code == "VALIDATION_ERROR":
        body["errors"] = [{"loc": ["body"], "msg": exc.message, "type": exc.code}]
    return body
