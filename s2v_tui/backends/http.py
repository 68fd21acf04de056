"""Shared plumbing for network backends: error mapping, verified downloads, deadline-bound polling.

Every cloud/local client maps transport and HTTP failures the same way, so the engine's retry policy
and the user-facing messages are uniform: 429/5xx/timeouts/resets → `TransientError` (retried, with
Retry-After honoured); 401/403 → `AuthError` naming the variable to set; other 4xx → `BackendError`
with the provider's own message. Nothing here ever puts a key in a message (and `redact` scrubs any).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TypeVar

import httpx

from s2v_tui.domain.errors import (
    AuthError,
    BackendError,
    MediaError,
    S2VError,
    TaskDeadlineError,
    TransientError,
    redact,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def error_for_status(provider: str, status: int, message: str, *, code: str = "", key_env: str = "",
                     retry_after: float | None = None) -> S2VError:
    """The right error for an HTTP status from `provider`."""
    detail = f"{provider}: {code + ': ' if code else ''}{message}".strip()
    if status == 429 or code.startswith("Throttling"):
        return TransientError(f"{detail} (rate limited)", retry_after=retry_after,
                              hint=f"lower the {provider} concurrency in config if this keeps happening")
    if status in (401, 403) and code not in ("DataInspectionFailed",):
        return AuthError(f"{detail} (HTTP {status})",
                         hint=f"set a valid {key_env}" if key_env else "check the credentials in your config")
    if status >= 500 or status in (408, 425):
        return TransientError(f"{detail} (HTTP {status})", retry_after=retry_after)
    return BackendError(f"{detail} (HTTP {status})")


def transport_error(provider: str, url: str, exc: httpx.HTTPError) -> TransientError:
    """A connection problem (refused, reset, timeout) — retryable, with what to check."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    host = httpx.URL(url).host if url else "the host"
    return TransientError(f"{provider} at {host} {kind}: {type(exc).__name__}",
                          hint=f"check the network and the {provider} base URL in config")


async def download(client: httpx.AsyncClient, url: str, out: Path, *, provider: str,
                   verify: Callable[[Path], object]) -> None:
    """Stream `url` to `out` and check it with `verify`; a short or broken file is a TransientError."""
    expected = written = -1
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise error_for_status(provider, response.status_code, f"download failed for {httpx.URL(url).path}")
            expected = int(response.headers.get("content-length") or 0)
            written = 0
            with open(out, "wb") as handle:
                async for chunk in response.aiter_bytes(1 << 16):
                    handle.write(chunk)
                    written += len(chunk)
    except httpx.HTTPError as exc:
        if written >= 0:  # the answer had started: the connection broke mid-file
            raise TransientError(f"{provider}: download truncated ({written} of {expected or '?'} bytes, "
                                 f"{type(exc).__name__})", hint="it will be downloaded again") from None
        raise transport_error(provider, url, exc) from None
    if expected and written < expected:
        raise TransientError(f"{provider}: download truncated ({written} of {expected} bytes)")
    try:
        await asyncio.to_thread(verify, out)
    except MediaError as exc:
        raise TransientError(f"{provider} returned a broken file: {exc.message}",
                             hint="it will be downloaded again; if it keeps failing, regenerate the shot") from None


def link_expired(url: str, *, now: float | None = None) -> bool:
    """A presigned link whose `Expires=<epoch seconds>` (OSS, DashScope results) has passed."""
    expires = httpx.URL(url).params.get("Expires") or httpx.URL(url).params.get("x-oss-expires")
    try:
        return expires is not None and float(expires) <= (time.time() if now is None else now)
    except ValueError:
        return False


async def download_retrying(fetch: Callable[[], Awaitable[None]], *, attempts: int, base_delay: float,
                            what: str, log: Callable[[str], None] | None = None) -> None:
    """Download a paid result, retrying a broken or truncated transfer of the *same* link on its own
    (a download is free; generating again is not). After `attempts` it raises a TransientError that
    says the result is kept and the next try downloads it again."""
    delay = max(base_delay, 0.01)
    for attempt in range(1, attempts + 1):
        try:
            await fetch()
            return
        except TransientError as exc:
            if attempt == attempts:
                raise TransientError(f"{what}: {exc.message} ({attempts} tries)", retry_after=exc.retry_after,
                                     hint="the result is paid for and its link kept; the next try downloads "
                                          "it again instead of generating anew") from None
            wait = exc.retry_after if exc.retry_after is not None else delay
            if log:
                log(f"{what}: {exc.message} — downloading the same link again in {wait:.1f}s")
            await asyncio.sleep(wait)
            delay = min(delay * 2, 30.0)


async def poll_until(fetch: Callable[[], Awaitable[T | None]], *, interval: float, deadline: float,
                     what: str, max_interval: float = 30.0,
                     log: Callable[[str], None] | None = None) -> T:
    """Call `fetch` until it returns a value; the wait grows ×1.5 up to `max_interval`.

    Polls are free, so a throttled or failing poll (a `TransientError`: 429, 5xx, a reset) is retried
    here until the deadline, honouring Retry-After — it never spends the stage's retry budget, which
    guards the paid submit.

    Raises:
        TaskDeadlineError: `deadline` seconds passed (the task id stays stored, so a rerun resumes).
    """
    give_up = time.monotonic() + deadline
    wait = interval
    failures = 0
    while True:
        try:
            result = await fetch()
        except TransientError as exc:
            failures += 1
            pause = exc.retry_after if exc.retry_after is not None else wait
            if time.monotonic() + pause > give_up:
                raise TaskDeadlineError(f"{what} could not be polled within {deadline:.0f}s: {exc.message}",
                                        hint="run again later to resume polling the same task "
                                             "(it is not resubmitted)") from None
            if log and failures in (1, 10, 100):
                log(f"{what}: poll failed ({exc.message}); polling again in {pause:.1f}s")
            await asyncio.sleep(pause)
            wait = min(wait * 1.5, max_interval)
            continue
        if result is not None:
            return result
        if time.monotonic() + wait > give_up:
            raise TaskDeadlineError(f"{what} did not finish within {deadline:.0f}s",
                                    hint="run again later to resume polling the same task (it is not resubmitted)")
        await asyncio.sleep(wait)
        wait = min(wait * 1.5, max_interval)


async def checked_json(provider: str, response: httpx.Response, *, key_env: str = "") -> dict:
    """The JSON body of a 2xx response, or the mapped error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        message = code = ""
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                message, code = str(error.get("message", "")), str(error.get("code") or error.get("type") or "")
            else:
                message = str(body.get("message") or body.get("msg") or error or "")
                code = str(body.get("code") or "")
        raise error_for_status(provider, response.status_code, message or response.reason_phrase, code=code,
                               key_env=key_env, retry_after=retry_after_seconds(response.headers.get("retry-after")))
    if not isinstance(body, dict):
        raise TransientError(f"{provider} answered with something that is not JSON "
                             f"({response.headers.get('content-type', 'no content type')})")
    return body


class LoopBoundClient:
    """One `httpx.AsyncClient` per event loop: a client's pooled connections belong to the loop that
    opened them, and a backend may outlive a loop (tests, or a TUI that restarts its worker loop)."""

    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client, self._loop = self._factory(), loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed and self._loop is asyncio.get_running_loop():
            await client.aclose()


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from a library's log records (oss2 logs request headers at DEBUG,
    signed `Authorization` included), so turning on debug logging never writes a key anywhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:  # keep the args: formatters may unpack them
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def scrub_library_logs(*names: str) -> None:
    """Attach `RedactingFilter` to these loggers (a logger's filters only see its own records, so each
    module logger that can mention credentials is named)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
