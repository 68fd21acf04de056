"""Errors that reach users, each with what went wrong and what to do about it.

Every error s2v raises on purpose is an `S2VError`: `message` says what happened, `hint` says what to
do. Secrets registered with `register_secret` are scrubbed from every message, so an API key that a
provider echoes back (or that an SDK puts into an exception) can never reach logs, events or files.
"""

from __future__ import annotations

import json
import re
import threading
from enum import IntEnum
from urllib.parse import quote, quote_plus

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
MIN_SECRET_LENGTH = 6
_CREDENTIAL_SHAPES = re.compile(
    r"(?i)(?<=bearer )[^\s\"',;]{8,}"           # an Authorization header echoed back by a provider
    r"|\bsk-[A-Za-z0-9_\-]{16,}"              # DashScope / OpenAI-style keys
    r"|(?<=OSSAccessKeyId=)[^\s&\"']{8,}"      # OSS presigned URL credentials
    r"|(?<=Signature=)[^\s&\"']{8,}"
)
"""Credential-shaped text redacted even when it was never registered (a key from another config)."""


def _forms(value: str) -> set[str]:
    """Every way a secret can appear in text: as configured, stripped, each line, URL- and JSON-escaped."""
    forms = {value, value.strip()}
    forms.update(line.strip() for line in value.splitlines())
    for form in list(forms):
        forms.update({quote(form, safe=""), quote_plus(form), json.dumps(form)[1:-1]})
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact` removes it in every form; short values are ignored to avoid mangling text."""
    if value:
        with _secrets_lock:
            _secrets.update(_forms(value))


def redact_secrets(text: str) -> str:
    """Replace every registered secret, in every form, with `***` (used on whole project files)."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def redact(text: str) -> str:
    """`redact_secrets`, plus anything shaped like a credential (for messages, logs and events)."""
    return _CREDENTIAL_SHAPES.sub("***", redact_secrets(text))


class ExitCode(IntEnum):
    """Exit codes of `s2v --run`; they are an API (documented in the README)."""

    OK = 0
    ERROR = 1
    BAD_INPUT = 2
    PARTIAL = 3
    FAILED = 4
    LOCKED = 5
    INTERRUPTED = 130


class S2VError(Exception):
    """Base class: `message` (what happened) and `hint` (what to do)."""

    code = "error"
    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class BadInputError(S2VError):
    """The user's input (script, id, option, config) cannot be used."""

    code = "bad_input"
    exit_code = ExitCode.BAD_INPUT


class ConfigError(BadInputError):
    code = "config"


class ProjectCorruptError(BadInputError):
    """project.json is not valid JSON or does not match the schema; the file is left untouched."""

    code = "project_corrupt"


class ProjectLockedError(S2VError):
    code = "project_locked"
    exit_code = ExitCode.LOCKED


class CancelledError(S2VError):
    code = "cancelled"
    exit_code = ExitCode.INTERRUPTED


class BackendError(S2VError):
    """A backend could not produce its artifact. Not retried unless it is a `TransientError`."""

    code = "backend"
    exit_code = ExitCode.FAILED


class TransientError(BackendError):
    """Worth retrying: throttling, 5xx, timeouts, connection resets, broken downloads."""

    code = "transient"

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class AuthError(BackendError):
    """Missing or rejected credentials: fail fast, name the variable to set."""

    code = "auth"


class ContentRejectedError(BackendError):
    code = "content_rejected"


class TaskFailedError(BackendError):
    code = "task_failed"


class TaskDeadlineError(BackendError):
    """A remote task ran past its deadline; its id stays in the project so a rerun resumes polling."""

    code = "task_deadline"


class WorkflowRejectedError(BackendError):
    """A render server refused the workflow itself (a missing model, an out-of-range or missing input).

    Permanent: every shot that uses the workflow fails the same way, so it is neither retried nor worth
    running again until the workflow, its mapping or the server's models change.
    """

    code = "workflow_rejected"


PERMANENT_CODES = frozenset({BadInputError.code, ConfigError.code, WorkflowRejectedError.code, AuthError.code,
                             ProjectCorruptError.code, "unsafe_path"})
"""Error codes that running the same command again cannot fix (the input or config must change first)."""


class MediaError(BackendError):
    """A media file is broken or ffmpeg failed on it."""

    code = "media"
