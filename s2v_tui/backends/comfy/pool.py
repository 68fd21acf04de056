"""The ComfyUI host pool: health checks, per-host concurrency, least-busy dispatch, re-probing.

The seed kept its two hosts in a `queue.Queue` and a job that hung never gave its host back. Here a
slot is an async context manager (always released), a failed host is skipped for `reprobe_after`
seconds and then health-checked (`/system_stats`) before it gets work again, and asking for a host
when none is usable fails at once with each host's last problem instead of waiting forever.
One pool serves the keyframe and the clip backend of a process (per event loop and host list), so
`per_host_concurrency` holds across stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from s2v_tui.backends.comfy.client import ComfyHost, HostFailure
from s2v_tui.config import ComfySettings
from s2v_tui.domain.errors import ConfigError, TransientError

PROBE_TIMEOUT = 5.0
FRESH_FOR = 30.0
"""A host that answered this recently is not probed again before new work."""


@dataclass
class HostState:
    host: ComfyHost
    busy: int = 0
    down_until: float = 0.0
    problem: str = ""
    last_ok: float = 0.0
    probe_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostPool:
    def __init__(self, settings: ComfySettings) -> None:
        if not settings.hosts:
            raise ConfigError("no ComfyUI hosts configured", hint="set COMFY_HOSTS_LIST=http://host:8188,...")
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.request_timeout, connect=PROBE_TIMEOUT))
        self.states = [HostState(ComfyHost(url, self.http)) for url in dict.fromkeys(settings.hosts)]
        self._changed = asyncio.Condition()
        self.users = 0

    def state(self, url: str) -> HostState | None:
        return next((s for s in self.states if s.host.url == url.rstrip("/")), None)

    async def _probe(self, state: HostState) -> bool:
        async with state.probe_lock:  # concurrent acquirers share one probe
            now = time.monotonic()
            if now - state.last_ok < FRESH_FOR or now < state.down_until:
                return now >= state.down_until
            try:
                await state.host.system_stats(PROBE_TIMEOUT)
            except HostFailure as exc:
                self.mark_down(state.host.url, exc.reason)
                return False
            state.last_ok, state.problem = time.monotonic(), ""
            return True

    def mark_down(self, url: str, problem: str) -> None:
        state = self.state(url)
        if state is not None:
            state.down_until, state.problem, state.last_ok = time.monotonic() + self.settings.reprobe_after, problem, 0.0

    def mark_ok(self, url: str) -> None:
        state = self.state(url)
        if state is not None:
            state.last_ok, state.problem = time.monotonic(), ""

    @asynccontextmanager
    async def slot(self, exclude: Collection[str] = (), only: str | None = None) -> AsyncIterator[ComfyHost]:
        """Hold one concurrency slot on the least busy healthy host (not in `exclude`)."""
        state = await self._acquire(set(exclude), only)
        try:
            yield state.host
        finally:
            state.busy -= 1
            async with self._changed:
                self._changed.notify_all()

    async def _acquire(self, exclude: set[str], only: str | None) -> HostState:
        give_up = time.monotonic() + self.settings.job_deadline
        while True:
            candidates = [s for s in self.states if s.host.url not in exclude and (only is None or s.host.url == only)]
            usable = [s for s in candidates if time.monotonic() >= s.down_until]
            healthy = [s for s, ok in zip(usable, await asyncio.gather(*(self._probe(s) for s in usable)),
                                         strict=True) if ok]
            if not healthy:
                raise self._none_usable(candidates, exclude)
            free = [s for s in healthy if s.busy < self.settings.per_host_concurrency]
            if free:
                chosen = min(free, key=lambda s: s.busy)  # ties go to the earlier host in COMFY_HOSTS_LIST
                chosen.busy += 1
                return chosen
            wait = min(self.settings.reprobe_after, give_up - time.monotonic())
            if wait <= 0:
                raise TransientError("no ComfyUI host slot became free before the job deadline")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait), self._changed:
                    await self._changed.wait()

    def _none_usable(self, candidates: list[HostState], exclude: set[str]) -> TransientError:
        now = time.monotonic()
        problems = [f"{s.host.url} ({s.problem or 'down'})" for s in self.states if s.problem or s.host.url in exclude]
        waits = [s.down_until - now for s in candidates if s.down_until > now]
        return TransientError("no usable ComfyUI host: " + ("; ".join(problems) or "none configured"),
                              retry_after=max(0.1, min(waits)) if waits else None,
                              hint="start ComfyUI on the hosts in COMFY_HOSTS_LIST (each is re-checked "
                                   f"{self.settings.reprobe_after:.0f}s after it failed)")

    async def aclose(self) -> None:
        await self.http.aclose()


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, ...], HostPool]] = \
    weakref.WeakKeyDictionary()


def shared_pool(settings: ComfySettings) -> HostPool:
    """The pool for these settings on the running loop (created on first use, shared by the stages)."""
    loop = asyncio.get_running_loop()
    key = (tuple(settings.hosts), settings.model_dump_json())
    pools = _POOLS.setdefault(loop, {})
    if key not in pools:
        pools[key] = HostPool(settings)
    pool = pools[key]
    pool.users += 1
    return pool


async def release_pool(pool: HostPool) -> None:
    pool.users -= 1
    if pool.users <= 0:
        for pools in _POOLS.values():
            for key in [k for k, v in pools.items() if v is pool]:
                del pools[key]
        await pool.aclose()
