"""A loopback HTTP/WebSocket server harness for protocol fakes.

Each fake is an `aiohttp.web.Application` served on 127.0.0.1 from a background thread with its own
event loop, so it works the same for sync SDKs (dashscope, oss2) and for async code under test. Tests
inject faults per route through `FaultPlan` and read back what the client sent from `requests`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """One injected misbehaviour, consumed by the next matching request.

    Args:
        status: HTTP status to answer with (ignored when `drop` is set).
        body: JSON-serialisable body, or bytes/str sent as is.
        delay: seconds to wait before answering (use > client timeout to simulate a timeout).
        drop: close the connection without an answer (a connection reset).
        headers: extra response headers, e.g. {"Retry-After": "1"}.
        echo_headers: put the request's headers into the body's `message` (some gateways echo the
            request, `Authorization` included, in their error pages).
    """

    status: int = 500
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    echo_headers: bool = False


@dataclass
class Chaos:
    """Random faults on every matching request: the "30% of everything fails" mode.

    Each request whose route matches `routes` (all when empty) fails with probability `rate`, as one of
    `kinds`: "500", "503", "429" (with Retry-After 0), "drop" (connection reset before any answer) or
    "truncate" (only where a subclass implements it: half a body, then a reset). Seeded, so a failing
    run can be replayed. Faults are injected *before* the handler, so a faulted request did nothing on
    the service — nothing was created or billed (what a real 5xx/429 before processing means).
    """

    rate: float
    seed: int = 0
    routes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("500", "503", "429", "drop")
    every_route: bool = True
    """Also fail the first request of every route, so each route is proven to recover at least once."""
    injected: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        import random

        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def roll(self, route: str, kinds: tuple[str, ...] | None = None) -> str | None:
        if self.routes and not any(route.startswith(prefix) for prefix in self.routes):
            return None
        with self._lock:
            first = self.every_route and all(seen != route for seen, _ in self.injected)
            if not first and self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(kinds or self.kinds)
            self.injected.append((route, kind))
            return kind


def chaos_fault(kind: str) -> Fault:
    if kind == "drop":
        return Fault(drop=True)
    if kind == "429":
        return Fault(status=429, body={"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"},
                     headers={"Retry-After": "0"})
    return Fault(status=int(kind), body={"code": "InternalError", "message": "chaos: the service failed"})


class FaultPlan:
    """Queues of faults keyed by a route key such as "POST /api/v1/tasks"; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self.latency: float = 0.0
        """Fixed latency added to every request (for benchmarks)."""

    def add(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self._queues.setdefault(route, deque()).extend(faults)

    def take(self, route: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(route)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class FakeServer:
    """Base class: subclasses implement `build_app()` and register routes on it.

    Use as a context manager or call `start()`/`stop()`. `url` is `http://127.0.0.1:PORT`.
    """

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.chaos: Chaos | None = None
        self.requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port: int = 0
        self._ready = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def build_app(self) -> web.Application:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            fut.result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread:
                self._thread.join(10)
            self._loop = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = self.build_app()
        app.middlewares.append(self._middleware)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def call_in_loop(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop from a test thread and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- middleware: record + faults ---------------------------------------------------------
    def route_key(self, request: web.Request) -> str:
        """The key faults are matched on; subclasses may normalise ids out of the path."""
        return f"{request.method} {request.path}"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k: v for k, v in request.headers.items()},
                body=body,
            )
        )
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(self.route_key(request))
        if fault is None and self.chaos is not None:
            fault = self.chaos_fault(request)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                raise ConnectionResetError("fault: dropped connection")
            if isinstance(fault.body, (bytes, str)):
                return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
            body = dict(fault.body or {})
            if fault.echo_headers:
                body["message"] = f"{body.get('message', 'bad request')}; request headers: {dict(request.headers)}"
            return web.json_response(body, status=fault.status, headers=fault.headers)
        return await handler(request)

    def chaos_fault(self, request: web.Request) -> Fault | None:
        """The chaos fault for this request, if the dice say so (subclasses add their own kinds)."""
        assert self.chaos is not None
        kind = self.chaos.roll(self.route_key(request))
        return chaos_fault(kind) if kind else None

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]
