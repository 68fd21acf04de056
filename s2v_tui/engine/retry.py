"""Retries for transient backend errors: exponential backoff with jitter, honouring Retry-After.

Only `TransientError` is retried (throttling, 5xx, timeouts, resets, broken downloads); auth errors,
moderation and failed tasks fail at once. Retrying a paid stage is safe because backends persist
their task id before polling: a retry resumes polling instead of submitting again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from s2v_tui.config import RetrySettings
from s2v_tui.domain.errors import TransientError

T = TypeVar("T")


class _WaitHonouringRetryAfter:
    def __init__(self, settings: RetrySettings) -> None:
        self.backoff = wait_exponential_jitter(multiplier=settings.base_delay, max=settings.max_delay,
                                               jitter=settings.base_delay / 2 if settings.base_delay else 0)
        self.max_delay = settings.max_delay

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_delay))
        return float(self.backoff(state))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    settings: RetrySettings,
    *,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Await `call()`, retrying `TransientError` up to `settings.attempts` tries in total."""

    def before_sleep(state: RetryCallState) -> None:
        if on_retry and state.outcome is not None and state.next_action is not None:
            exc = state.outcome.exception()
            assert exc is not None
            on_retry(state.attempt_number, exc, state.next_action.sleep)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(settings.attempts),
        wait=_WaitHonouringRetryAfter(settings),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover
