"""One prompt on one host: check, open the socket, upload, queue, follow, fetch the output — or resume one.

The socket is opened before `/prompt` so no event is missed. The prompt id is chosen here and sent
with the prompt, so a cancellation at any instant after submitting knows what to interrupt: on
`asyncio.CancelledError` (and when a stalled host is abandoned) `stop()` interrupts and dequeues our
prompt only. Each submit gets its own output file prefix: ComfyUI skips nodes whose inputs did not
change (protocols §10), and a fresh prefix makes the save node write a new file we can fetch, while
the sampler seed stays the engine's deterministic per-shot seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import websocket

from s2v_tui.backends.base import StageContext
from s2v_tui.backends.comfy.client import ComfyHost, HostFailure
from s2v_tui.backends.comfy.events import EventStream
from s2v_tui.backends.comfy.follow import Follower, raise_for_history
from s2v_tui.backends.comfy.gate import WorkflowGate
from s2v_tui.backends.comfy.validation import Rejection
from s2v_tui.backends.comfy.workflow import WorkflowTemplate
from s2v_tui.config import ComfySettings
from s2v_tui.domain.errors import BackendError, S2VError

if TYPE_CHECKING:
    from s2v_tui.backends.comfy.pool import Slot

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".gif", ".webp", ".avi")


@dataclass(frozen=True)
class PromptSpec:
    """What to render: the workflow, its patch-point values, an optional image to upload, the output."""

    template: WorkflowTemplate
    values: dict[str, Any]
    media: Literal["image", "video"]
    verify: Callable[[Path], object]
    upload: Path | None = None


def pick_output(entry: dict[str, Any], spec: PromptSpec, host: str) -> dict[str, Any]:
    """The file reference of the mapped output node (images under `images`; videos under `images`
    with `animated`, or `gifs`/`videos` for custom savers such as VideoHelperSuite)."""
    node_id = spec.template.mapping.output
    outputs = entry.get("outputs") or {}
    node = outputs.get(node_id)
    if not isinstance(node, dict):
        raise BackendError(f"ComfyUI on host {host}: output node {node_id} saved nothing "
                           f"(nodes with output: {', '.join(sorted(outputs)) or 'none'})",
                           hint=f"check `output` in the mapping of {spec.template.source}")
    if spec.media == "image":
        candidates = node.get("images") or []
    else:
        animated = any(node.get("animated") or [])
        candidates = (node.get("gifs") or node.get("videos")
                      or [ref for ref in node.get("images") or []
                          if animated or str(ref.get("filename", "")).lower().endswith(VIDEO_SUFFIXES)])
    for ref in candidates:
        if isinstance(ref, dict) and ref.get("filename"):
            return ref
    raise BackendError(f"ComfyUI on host {host}: output node {node_id} saved no {spec.media} "
                       f"(it reported {', '.join(node) or 'nothing'})",
                       hint=f"map `output` to a Save{'Image' if spec.media == 'image' else 'Video'} node "
                            f"in {spec.template.source}")


def safe_name(text: str) -> str:
    """A file name ComfyUI accepts on any OS (project ids are user-chosen)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


async def stop(host: ComfyHost, prompt_id: str) -> None:
    """Best effort: the host may be the reason we are stopping."""
    with contextlib.suppress(S2VError, OSError):
        await asyncio.shield(host.stop(prompt_id))


@asynccontextmanager
async def stopped_on_failure(host: ComfyHost, prompt_id: str) -> AsyncIterator[None]:
    """Interrupt and dequeue our prompt when we are cancelled or give up on the host meanwhile."""
    try:
        yield
    except (asyncio.CancelledError, HostFailure):
        await stop(host, prompt_id)
        raise


async def run_prompt(host: ComfyHost, spec: PromptSpec, out: Path, ctx: StageContext, settings: ComfySettings,
                     *, deadline: float, gate: WorkflowGate, on_submitted: Callable[[str], Awaitable[None]],
                     idle_host: Callable[[], Awaitable[Slot | None]] | None = None) -> None:
    """Render on this host. Raises `Refused` (the host will not run this workflow), `JobMoved` (it
    waited too long and another host is idle), `HostFailure`, or the prompt's own failure."""
    client_id, prompt_id = uuid.uuid4().hex, str(uuid.uuid4())
    label = safe_name(f"{ctx.project_id}_{ctx.shot_id}_{prompt_id[:8]}")
    values = dict(spec.values, prefix=f"s2v/{label}")
    await gate.check(host, spec.template.render(values), [(t.node, t.input) for t in spec.template.targets("image")])
    stream = EventStream(host.ws_url(client_id))
    try:
        try:
            await stream.open(settings.request_timeout)
        except (OSError, websocket.WebSocketException) as exc:
            ctx.log(f"ComfyUI {host.url}: no WebSocket ({type(exc).__name__}); following by polling", "warning")
        async with gate.first_submission(host):
            if spec.upload is not None:
                name = f"s2v_{label}{spec.upload.suffix.lower() or '.png'}"
                values["image"] = await host.upload_image(spec.upload, name)
            graph = spec.template.render(values)
            async with stopped_on_failure(host, prompt_id):
                answer = await host.queue_prompt(graph, client_id, prompt_id)
            if isinstance(answer, Rejection):
                gate.refuse(host, answer)
            gate.accept(host)
        async with stopped_on_failure(host, answer):
            await on_submitted(answer)
            ctx.progress(0.02, f"queued on {host.url}")
            entry = await Follower(host, stream, answer, graph, ctx, settings, idle_host=idle_host).wait(deadline)
    finally:
        await stream.close()
    await host.fetch(pick_output(entry, spec, host.url), out, spec.verify)
    ctx.progress(1.0, f"done on {host.url}")


async def resume_prompt(host: ComfyHost, prompt_id: str, spec: PromptSpec, out: Path, ctx: StageContext,
                        settings: ComfySettings, *, deadline: float) -> bool:
    """Finish a prompt submitted by an earlier run; False if the host no longer knows it.

    Events of that prompt go to the old run's clientId, so this follows by polling alone.
    """
    entry = await host.history(prompt_id)
    if entry is None:
        if await host.queue_state(prompt_id) == "absent":
            return False
        ctx.log(f"resuming ComfyUI prompt {prompt_id} on {host.url}")
        follower = Follower(host, EventStream(""), prompt_id, spec.template.graph, ctx, settings, reconnect=False)
        try:
            async with stopped_on_failure(host, prompt_id):
                entry = await follower.wait(deadline)
        except HostFailure:
            raise
        except S2VError:
            return False  # it failed (or we interrupted it when that run was cancelled): submit anew
    try:
        raise_for_history(host.url, entry)
    except S2VError:
        return False
    await host.fetch(pick_output(entry, spec, host.url), out, spec.verify)
    return True
