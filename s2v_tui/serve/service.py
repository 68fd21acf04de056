"""The service: many stories on one engine loop, sharing one `BackendSet` and one set of `Lanes`, so
ten users never multiply the DashScope or ComfyUI concurrency.

An accepted request becomes an `Operation`: its story is opened (or created) and locked, its edit is
applied and saved, and its record is written to the story's folder *before* it is queued — so from
then on a SIGKILL loses nothing: the restarted server shows it "interrupted", and the same request
POSTed again resumes it (the engine's content-addressed cache keeps every finished asset). One
operation per story at a time; `max_running` run at once, `max_queue` more may wait.

The engines run on a loop of their own, in a thread (as the studio runs its engine): whatever an
engine does on its loop — spawning ffmpeg, removing scratch folders, its final save — never delays
an HTTP answer. The public coroutines below are called from the HTTP loop and hop over; everything
that changes the service's state runs on the engine loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from filelock import FileLock, Timeout
from pydantic import BaseModel

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import ProjectLockedError, S2VError, redact
from s2v_tui.domain.events import ErrorInfo, Event, RunFinished
from s2v_tui.domain.operation import RESUMABLE_STATES, OperationKind, OperationRecord
from s2v_tui.domain.project import Project
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine
from s2v_tui.engine.final_stage import FINAL_MP4
from s2v_tui.engine.lanes import lane_widths
from s2v_tui.serve.errors import BusyError, ConflictError
from s2v_tui.serve.operation import Operation
from s2v_tui.serve.priority import PRIORITY, PriorityLanes
from s2v_tui.storage.operations import OperationStore
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.outcome import failure_summary, nothing_could_run
from s2v_tui.workspace.stories_by_id import NotFoundError, all_story_folders, storyboard_mode, users_root

T = TypeVar("T")
log = logging.getLogger("s2v.serve")
SERVE_LOCK = ".serve.lock"
EXECUTOR_THREADS = 64
KEEP_EVENTS_OF = 200
STORY_PLACE_KEPT = 60.0
"""A story's next operation sent within this many seconds of its last one keeps the story's place."""
"""Finished operations whose events stay in memory for late SSE subscribers."""
INTERRUPTED = "interrupted by a server restart; POST the same request again to continue (finished work is kept)"
CANCELLED = "cancelled; POST the same request again to continue (finished work is kept)"


def request_hash(kind: OperationKind, request: BaseModel) -> str:
    body = request.model_dump_json(exclude={"operation_id"})
    return hashlib.sha256(f"{kind}\n{body}".encode()).hexdigest()


@dataclass
class Prepared:
    """What an operation runs on: its locked story and the engine arguments."""

    folder: ProjectFolder
    project: Project
    run_args: dict[str, Any]


Preparer = Callable[[OperationRecord], Prepared]
"""Opens (or creates) and locks the story, applies the request's edit, saves; runs in a thread."""


class Service:
    def __init__(self, settings: Settings, backends: BackendSet | None = None) -> None:
        self.settings = settings
        self.backends = backends or BackendSet.from_settings(settings)
        self.lanes = PriorityLanes(lane_widths(settings))
        self._story_places: dict[tuple[str, str], tuple[float, float]] = {}
        """Per story: its place in the lanes and when its last operation ended (see `serve.priority`)."""
        self.operations: dict[str, Operation] = {}
        self.busy: dict[tuple[str, str], Operation] = {}
        self._slots = asyncio.Semaphore(settings.serve.max_running)
        self._durations: list[float] = []
        self._finished: deque[Operation] = deque()
        self._lock: FileLock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The engines' loop (its own thread); None until `start`."""
        self._thread = threading.Thread()

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        root = users_root(self.settings)
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / SERVE_LOCK), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise ProjectLockedError(f"another s2v serve is using {root}",
                                     hint="stop it first, or give this one another projects_dir") from None
        self._lock = lock
        self.loop = asyncio.new_event_loop()
        # Every story's engine hands blocking work (saves, hashing, probing, synthesis) to the default
        # executor; sized for one story it would make twenty queue behind each other.
        self.loop.set_default_executor(ThreadPoolExecutor(max_workers=EXECUTOR_THREADS, thread_name_prefix="s2v-serve"))
        self._thread = threading.Thread(target=self.loop.run_forever, name="s2v-serve-engine", daemon=True)
        self._thread.start()
        await self._on_engine_loop(asyncio.to_thread(self._load_operations))

    async def _on_engine_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def _load_operations(self) -> None:
        """Index every persisted operation; those a killed server left running are marked interrupted."""
        for _, _, folder in all_story_folders(self.settings):
            store = OperationStore(folder)
            for record in store.load_all():
                if record.active:
                    record.state, record.detail = "interrupted", INTERRUPTED
                    with contextlib.suppress(OSError, S2VError):
                        store.save(record)
                self.operations[record.operation_id] = Operation(record)

    def interrupt(self) -> list[asyncio.Task[None]]:
        """Stop every running operation (each becomes "interrupted": the same request resumes it), so a
        POST waiting for one answers before the server closes its connections."""
        running = [op.task for op in self.operations.values() if op.task and not op.task.done()]
        for task in running:
            task.cancel()
        return running

    async def stop(self) -> None:
        """Interrupt what still runs, wait for it to record how it ended, close the backends."""
        if self.loop is not None:
            await self._on_engine_loop(self._stop_engines())
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, 30)
            self.loop.close()
            self.loop = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def _stop_engines(self) -> None:
        running = self.interrupt()
        if running:
            await asyncio.wait(running)
        await self.backends.aclose()

    # -- operations ----------------------------------------------------------------------------
    def get(self, operation_id: str) -> Operation:
        op = self.operations.get(operation_id)
        if op is None:
            raise NotFoundError(f"operation {operation_id!r} not found",
                                hint="use the operation_id of a request this service accepted")
        return op

    def active_count(self) -> int:
        return sum(1 for op in self.operations.values() if op.record.active)

    def _retry_after(self) -> int:
        """Seconds until a slot is likely free: the typical operation's length times the queue ahead of a slot."""
        typical = statistics.median(self._durations[-50:]) if self._durations else 10.0
        waiting = max(1, self.active_count() - self.settings.serve.max_running + 1)
        return max(1, min(300, round(typical * waiting / self.settings.serve.max_running)))

    async def submit(self, kind: OperationKind, request: BaseModel, prepare: Preparer, *, user_id: str,
                     story_id: str, shot_id: str | None = None) -> Operation:
        """The operation for this request: the existing one for a repeated id (resumed if it had been
        stopped), else a new one, queued. Raises ConflictError, BusyError, or the preparer's errors.
        Shielded: a client that hangs up while it is accepted does not leave it half made."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self._submit(kind, request, prepare, user_id=user_id, story_id=story_id, shot_id=shot_id), self.loop)
        return await asyncio.shield(asyncio.wrap_future(future))

    async def _submit(self, kind: OperationKind, request: BaseModel, prepare: Preparer, *, user_id: str,
                      story_id: str, shot_id: str | None = None) -> Operation:
        operation_id = getattr(request, "operation_id")  # noqa: B009 - every request model has one
        digest = request_hash(kind, request)
        existing = self.operations.get(operation_id)
        if existing is not None:
            if existing.record.request_hash != digest:
                raise ConflictError(
                    f"operation {operation_id!r} already exists with a different request",
                    hint="send a new operation_id for a new request; repeat one only with the same body")
            if existing.record.state not in RESUMABLE_STATES:
                return existing  # running or finished: the same operation, never a second run
        key = (user_id, story_id)
        other = self.busy.get(key)
        if other is not None:
            raise ConflictError(f"story {story_id!r} is busy with operation {other.id!r} ({other.record.kind}, "
                                f"{other.record.state})",
                                hint=f"wait for it (GET /api/v1/operations/{other.id}) or cancel it")
        limit = self.settings.serve.max_running + self.settings.serve.max_queue
        if self.active_count() >= limit:
            raise BusyError(f"the service is full ({limit} operations running or queued)",
                            hint="try again after the Retry-After seconds", retry_after=self._retry_after())
        record = existing.record.model_copy() if existing else OperationRecord(
            operation_id=operation_id, kind=kind, user_id=user_id, story_id=story_id, request_hash=digest,
            shot_id=shot_id)
        previous = existing.record if existing else None
        record.state, record.detail, record.error, record.failures = "queued", None, None, []
        op = existing or Operation(record)
        op.record = record
        self.busy[key] = op  # reserved before the first await: a concurrent twin sees it busy
        self.operations[operation_id] = op
        op.finished.clear()  # a twin that arrives now waits for this run, not for the previous one
        op.rejected = None
        try:
            prepared = await asyncio.to_thread(self._prepare, prepare, record)
        except BaseException as exc:
            self.busy.pop(key, None)
            if previous is None:
                self.operations.pop(operation_id, None)
                op.rejected = exc  # a twin waiting for it gets the same answer
            else:
                op.record = previous
            op.mark_finished()
            raise
        op.cancel = CancelToken()
        op.reset_progress()
        op.place = self._place(key)
        op.task = asyncio.create_task(self._execute(op, prepared), name=f"operation {operation_id}")
        return op

    def _place(self, key: tuple[str, str]) -> float:
        now = time.monotonic()
        place, ended = self._story_places.get(key, (now, float("-inf")))
        return place if now - ended <= STORY_PLACE_KEPT else now

    @staticmethod
    def _prepare(prepare: Preparer, record: OperationRecord) -> Prepared:
        prepared = prepare(record)
        try:
            OperationStore(prepared.folder).save(record)
        except BaseException:
            prepared.folder.unlock()
            raise
        return prepared

    async def _execute(self, op: Operation, prepared: Prepared) -> None:
        record, folder = op.record, prepared.folder
        started = time.monotonic()
        try:
            async with self._slots:
                record.state = "running"
                PRIORITY.set(op.place)  # inherited by every task the engine starts for this run
                await asyncio.to_thread(OperationStore(folder).save, record)
                engine = Engine(folder, self.settings, self.backends, lanes=self.lanes)  # never aclose()d: shared
                args = dict(prepared.run_args)
                if record.kind == "storyboard":
                    args["storyboard"] = storyboard_mode(prepared.project)
                finished: RunFinished | None = None
                async for event in engine.run(prepared.project, cancel=op.cancel, **args):
                    op.add(event)
                    if isinstance(event, RunFinished):
                        finished = event
                self._conclude(record, finished, prepared.project)
                self._durations = [*self._durations[-99:], time.monotonic() - started]
        except asyncio.CancelledError:
            if op.cancel.cancelled:
                record.state, record.detail = "cancelled", CANCELLED
            else:
                record.state, record.detail = "interrupted", INTERRUPTED
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must end the operation, not the server
            log.exception("operation %s failed unexpectedly", op.id)
            record.state, record.error = "failed", ErrorInfo.from_exception(exc)
            record.detail = record.error.message
        finally:
            # In a thread, shielded: a cancelled operation still records how it ended and unlocks its story.
            closing = asyncio.ensure_future(asyncio.to_thread(self._close, folder, record))
            try:
                await asyncio.shield(closing)
            finally:
                self._story_places[op.story_key] = (op.place, time.monotonic())
                self.busy.pop(op.story_key, None)
                op.mark_finished()
                self._retire(op)

    def _retire(self, op: Operation) -> None:
        """Keep the events of the latest finished operations only (a long-lived server must not keep
        every event it ever sent; an older operation's stream replays just its outcome)."""
        if op in self._finished:
            self._finished.remove(op)
        self._finished.append(op)
        while len(self._finished) > KEEP_EVENTS_OF:
            self._finished.popleft().events.clear()

    @staticmethod
    def _close(folder: ProjectFolder, record: OperationRecord) -> None:
        with contextlib.suppress(OSError, S2VError):
            OperationStore(folder).save(record)
        folder.unlock()

    def _conclude(self, record: OperationRecord, finished: RunFinished | None, project: Project) -> None:
        if finished is None:
            record.state, record.detail = "failed", "the run ended without a result"
            return
        if finished.status == "cancelled":
            record.state, record.detail = "cancelled", CANCELLED
            return
        record.failures = list(finished.failures)
        record.error = finished.failures[0].error if finished.failures else None
        shots = 1 if record.kind == "regenerate" else len(project.shots)
        record.detail = redact(failure_summary(finished, shots) or "") or None
        if finished.status == "done":
            record.state = "done"
        elif finished.status == "partial" and not nothing_could_run(finished):
            record.state = "partial"
            if finished.final_path:
                record.detail = f"{record.detail}; the film joins the other shots"
        else:
            record.state = "failed"
        if finished.final_path and record.kind == "render":
            record.final_path = FINAL_MP4

    async def cancel(self, operation_id: str) -> Operation:
        return await self._on_engine_loop(self._cancel(operation_id))

    async def _cancel(self, operation_id: str) -> Operation:
        op = self.get(operation_id)
        if op.record.active and op.task is not None:
            op.cancel.cancel("cancelled through the API")
            if op.record.state == "queued":
                op.task.cancel()  # still waiting for a slot: the engine never started
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(op.finished.wait())
        return op

    async def wait(self, op: Operation) -> None:
        """Wait for the operation to finish; a client that goes away does not stop it."""
        await self._on_engine_loop(op.finished.wait())

    async def follow(self, op: Operation, after: int = 0) -> AsyncIterator[tuple[int, Event]]:
        """The operation's events after sequence `after`, live, until it finishes (see `Operation.follow`)."""
        while True:
            batch = await self._on_engine_loop(op.next_batch(after))
            if not batch:
                return
            for sequence, event in batch:
                after = sequence
                yield sequence, event
