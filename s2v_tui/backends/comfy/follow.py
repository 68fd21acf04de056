"""Waiting for one queued prompt: WebSocket events first, `/history` checks always, deadlines on both.

The seed looped `while True` on `/history` with no deadline, so one failed prompt held its host
forever. Here every wait is bounded: `stall_timeout` without a sign of progress, and `job_deadline`
overall, both end in `HostFailure` (the job moves to another host). `/history` is checked every
`poll_interval` even while the socket is up — a lost end marker costs one interval, not the job — and
a dropped socket is reopened (same clientId) while polling carries on. Without a socket, "running"
in `/queue` is the only sign of life; a prompt in neither queue nor history has vanished (the host
restarted) and is resubmitted elsewhere. Waiting in the host's queue is not a stall; but a prompt that
has not started after `start_timeout` (other users' prompts ahead of it) is withdrawn from that queue
and moved to a host that is idle, if there is one (`JobMoved`). ComfyUI's `POST /queue {"delete"}`
drops only pending prompts, so after it `/queue` tells whether ours had started after all (then it
stays) or is gone (then it runs only on the new host).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import websocket

from s2v_tui.backends.base import StageContext
from s2v_tui.backends.comfy.client import ComfyHost, HostFailure
from s2v_tui.backends.comfy.events import CLOSED, EventStream
from s2v_tui.config import ComfySettings
from s2v_tui.domain.errors import BackendError, TransientError

if TYPE_CHECKING:
    from s2v_tui.backends.comfy.pool import Slot

RECONNECT_EVERY = 5.0
"""Minimum seconds between attempts to reopen a dropped WebSocket."""


class JobMoved(Exception):  # noqa: N818 - control flow between the follower and the backend, never shown
    """Our prompt was withdrawn from a queue before it started; `slot` is held on the host it moves to."""

    def __init__(self, slot: Slot, reason: str) -> None:
        super().__init__(reason)
        self.slot, self.reason = slot, reason


def execution_failed(host: str, data: dict[str, Any]) -> BackendError:
    node = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')})"
    message = str(data.get("exception_message") or "no message").strip()
    kind = data.get("exception_type") or "error"
    return BackendError(f"ComfyUI failed at {node} on host {host}: {kind}: {message}",
                        hint="the ComfyUI console on that host has the traceback")


def interrupted(host: str) -> TransientError:
    return TransientError(f"the prompt was interrupted on ComfyUI host {host} (not by s2v)",
                          hint="someone pressed cancel in that ComfyUI; the shot is queued again")


def raise_for_history(host: str, entry: dict[str, Any]) -> None:
    """Raise the failure recorded in a finished prompt's history, if any."""
    status = entry.get("status") or {}
    if status.get("status_str") != "error":
        return
    for item in status.get("messages") or []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
            if item[0] == "execution_error":
                raise execution_failed(host, item[1])
            if item[0] == "execution_interrupted":
                raise interrupted(host)
    raise BackendError(f"ComfyUI reported an error on host {host} without a message")


class Follower:
    def __init__(self, host: ComfyHost, stream: EventStream, prompt_id: str, graph: dict[str, Any],
                 ctx: StageContext, settings: ComfySettings, *, reconnect: bool = True,
                 idle_host: Callable[[], Awaitable[Slot | None]] | None = None) -> None:
        self.host, self.stream, self.prompt_id, self.ctx, self.settings = host, stream, prompt_id, ctx, settings
        self.may_reconnect = reconnect
        """False when following another run's prompt: its events go to that run's clientId."""
        self.idle_host = idle_host
        """Claims a slot on another host that is idle now (None: this prompt is never moved)."""
        self.told_waiting = False
        self.classes = {node_id: node["class_type"] for node_id, node in graph.items()}
        self.done: set[str] = set()
        self.current: str | None = None
        self.fraction = 0.0
        """Progress within the current node (sampler steps)."""

    async def wait(self, deadline: float) -> dict[str, Any]:
        """The prompt's history entry once it finished successfully; raises on failure or timeout."""
        started = last_sign = time.monotonic()
        next_poll, next_reconnect, vanished = started + self.settings.poll_interval, started, 0
        while True:
            now = time.monotonic()
            if now - started > deadline:
                raise HostFailure(self.host.url, f"prompt did not finish within the {deadline:.0f}s job deadline")
            if now - last_sign > self.settings.stall_timeout:
                raise HostFailure(self.host.url, f"no progress for {self.settings.stall_timeout:.0f}s (stalled)")
            wake = min(next_poll, last_sign + self.settings.stall_timeout, started + deadline) - now
            if self.stream.alive or not self.stream.queue.empty():
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races
                # with an arriving event, and then cancelling a render would not stop it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wake)):
                        event = await self.stream.queue.get()
                    if event is not CLOSED and self.on_event(event):
                        last_sign = time.monotonic()
                        if self.current is None and event.get("type") == "executing":
                            next_poll = last_sign  # the end marker: history is written, read it now
                    if time.monotonic() < next_poll:
                        continue
            else:
                if self.may_reconnect and now >= next_reconnect:
                    next_reconnect = now + max(RECONNECT_EVERY, self.settings.poll_interval)
                    await self.reconnect()
                    continue
                await asyncio.sleep(max(0.0, wake))
            if time.monotonic() < next_poll:
                continue
            entry = await self.host.history(self.prompt_id)
            if entry is not None:
                raise_for_history(self.host.url, entry)
                return entry
            if not self.stream.alive or time.monotonic() - last_sign > self.settings.poll_interval:
                state, ahead = await self.host.queue_position(self.prompt_id)
                if state == "pending" or (state == "running" and not self.stream.alive):
                    # Waiting behind other prompts (ours too, with per_host_concurrency > 1) is not a
                    # stall; without a socket, "still running" is all we can see. job_deadline bounds both.
                    last_sign = time.monotonic()
                if state == "pending" and last_sign - started >= self.settings.start_timeout:
                    state = await self.move_if_possible(ahead, last_sign - started)
                    if state == "absent":  # it finished meanwhile: the history has it
                        next_poll = time.monotonic()
                        continue
                vanished = vanished + 1 if state == "absent" else 0
                if vanished >= 2:
                    raise HostFailure(self.host.url, "the prompt vanished from its queue (did ComfyUI restart?)")
            next_poll = time.monotonic() + self.settings.poll_interval

    async def move_if_possible(self, ahead: int, waited: float) -> str:
        """Withdraw our waiting prompt and raise `JobMoved` if another host is idle; else the prompt's state."""
        slot = await self.idle_host() if self.idle_host is not None else None
        if slot is None:
            if not self.told_waiting:
                self.told_waiting = True
                self.ctx.log(f"ComfyUI {self.host.url}: waiting behind {ahead} other prompt(s) for {waited:.0f}s; "
                             "no other host is free", "info")
            return "pending"
        moved = False
        try:
            await self.host.withdraw(self.prompt_id)
            state = await self.host.queue_state(self.prompt_id)
            if state == "absent" and await self.host.history(self.prompt_id) is None:
                moved = True
                raise JobMoved(slot, f"it had not started after {waited:.0f}s behind {ahead} other prompt(s) "
                                     f"on {self.host.url}")
        finally:
            if not moved:
                slot.release()
        return state  # "running": it started just before the withdrawal, so it stays here

    async def reconnect(self) -> None:
        try:
            await self.stream.open(self.settings.request_timeout)
            self.ctx.log(f"ComfyUI {self.host.url}: WebSocket reconnected", "debug")
        except (OSError, websocket.WebSocketException) as exc:
            self.ctx.log(f"ComfyUI {self.host.url}: WebSocket unavailable ({type(exc).__name__}); "
                         "following by polling /history", "debug")

    def on_event(self, event: dict[str, Any]) -> bool:
        """Handle one event; True if it was about our prompt (a sign of progress)."""
        kind, data = event.get("type"), event.get("data")
        if not isinstance(data, dict) or data.get("prompt_id") != self.prompt_id:
            return False  # other clients' prompts, status broadcasts, replays without prompt_id
        if kind == "execution_error":
            raise execution_failed(self.host.url, data)
        if kind == "execution_interrupted":
            raise interrupted(self.host.url)
        if kind == "executing":
            if self.current:
                self.done.add(self.current)
            self.current, self.fraction = data.get("node"), 0.0
        elif kind == "execution_cached":
            self.done.update(str(n) for n in data.get("nodes") or [])
        elif kind == "executed":
            self.done.add(str(data.get("node")))
        elif kind == "progress" and data.get("max"):
            self.fraction = min(1.0, float(data.get("value", 0)) / float(data["max"]))
            self.current = str(data["node"]) if data.get("node") else self.current
        else:
            return True  # progress_state, execution_start, …: alive, nothing new to show
        total = max(1, len(self.classes))
        overall = min(0.95, (len(self.done - {self.current}) + self.fraction) / total)
        label = self.classes.get(self.current or "", "")
        self.ctx.progress(overall, f"{self.host.url}{': ' + label if label else ''}"
                          + (f" {data.get('value')}/{data.get('max')}" if kind == "progress" else ""))
        return True
