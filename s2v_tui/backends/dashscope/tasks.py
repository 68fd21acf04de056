"""DashScope async tasks (Wan t2i, Wan i2v): submit once, persist the id, poll until done.

The seed resubmitted a paid generation on every retry; here a task id is stored in project.json
(`ctx.remember_task`) the moment the submit answers, before the first poll. Every later attempt —
an engine retry after a 5xx, a rerun after a crash or a deadline — finds it in `ctx.pending_task`
and polls that task instead. A task is submitted again only when DashScope no longer knows it
(UNKNOWN: ids live 24 h); a FAILED or CANCELED task fails the shot and is forgotten, so the next
run starts afresh.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from s2v_tui.backends.base import StageContext
from s2v_tui.backends.dashscope.client import PROVIDER, DashScopeHttp, dashscope_error
from s2v_tui.backends.http import download_retrying, poll_until
from s2v_tui.domain.errors import BackendError, ContentRejectedError, TaskFailedError, TransientError
from s2v_tui.domain.shot import RemoteTask

RUNNING = frozenset({"PENDING", "RUNNING", "SUSPENDED"})
GONE = "UNKNOWN"
"""DashScope's answer for an id it does not know (expired after 24 h, or never existed)."""


class _Gone(Exception):
    """The remembered task no longer exists on the service."""


async def run_task(http: DashScopeHttp, ctx: StageContext, *, what: str,
                   submit: Callable[[], Awaitable[str]], extra: dict[str, str]) -> dict[str, Any]:
    """Resume the pending task or submit a new one; returns the SUCCEEDED task's `output`.

    Args:
        what: "video" / "image", for messages.
        submit: posts the job and returns the task id (it counts the paid call).
        extra: facts stored with the task id (model, …) for people reading project.json.
    """
    pending = ctx.pending_task
    if pending is not None and pending.provider == PROVIDER and pending.task_id:
        ctx.log(f"resuming DashScope {what} task {pending.task_id} (not submitting again)")
        try:
            return await _poll(http, ctx, pending.task_id, what)
        except _Gone:
            await ctx.forget_task()
            ctx.log(f"DashScope no longer knows task {pending.task_id} (expired); submitting a new one", "warning")
    task_id = await submit()
    await ctx.remember_task(RemoteTask(provider=PROVIDER, task_id=task_id, input_hash=ctx.input_hash, extra=extra))
    try:
        return await _poll(http, ctx, task_id, what)
    except _Gone:
        await ctx.forget_task()
        raise TaskFailedError(f"DashScope lost {what} task {task_id} right after it was submitted",
                              hint="run again to submit a new task") from None


async def _poll(http: DashScopeHttp, ctx: StageContext, task_id: str, what: str) -> dict[str, Any]:
    started = time.monotonic()
    settings = http.settings

    async def fetch() -> dict[str, Any] | None:
        body = await http.call("GET", f"tasks/{task_id}")
        output = body.get("output") or {}
        status = str(output.get("task_status") or "UNKNOWN").upper()
        if status in RUNNING:
            elapsed = time.monotonic() - started
            # No real progress is reported; an asymptotic curve shows life without promising an end.
            ctx.progress(0.1 + 0.8 * elapsed / (elapsed + 60.0), f"{what} {status.lower()} ({elapsed:.0f}s)")
            return None
        if status == "SUCCEEDED":
            ctx.progress(0.9, f"{what} ready, downloading")
            return output
        if status == GONE:
            raise _Gone()
        await ctx.forget_task()
        code, message = str(output.get("code") or ""), str(output.get("message") or "no message")
        if status == "FAILED":
            error = dashscope_error(400, code, message)
            if isinstance(error, ContentRejectedError):
                raise error
            raise TaskFailedError(f"DashScope {what} task {task_id} failed: {code + ': ' if code else ''}{message}",
                                  hint="run again to submit a new task, or edit the shot if the message says why")
        raise TaskFailedError(f"DashScope {what} task {task_id} ended as {status}: {message}",
                              hint="run again to submit a new task")

    return await poll_until(fetch, interval=settings.poll_interval, deadline=settings.poll_deadline,
                            what=f"DashScope {what} task {task_id}", max_interval=max(settings.poll_interval, 15.0),
                            log=lambda message: ctx.log(message, "warning"))


async def download_result(http: DashScopeHttp, ctx: StageContext, url: str, out: Path,
                          verify: Callable[[Path], object], *, what: str, attempts: int,
                          base_delay: float) -> None:
    """Download a finished task's file. A broken or truncated transfer is retried from the same link
    (the result is paid for); a refused link (expired after 24 h) forgets the task, so the next try
    generates it anew — and says so."""
    try:
        await download_retrying(lambda: http.download(url, out, verify), attempts=attempts, base_delay=base_delay,
                                what=f"downloading the {what}", log=lambda message: ctx.log(message, "warning"))
    except TransientError:
        raise
    except BackendError as exc:
        await ctx.forget_task()
        raise BackendError(f"the finished {what} could not be downloaded: {exc.message}",
                           hint="result links expire after 24 h; run again to generate it anew "
                                "(one more paid call)") from None
