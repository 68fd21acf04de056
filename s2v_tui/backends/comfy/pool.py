"""The ComfyUI host pool: health checks, per-host concurrency, dispatch by queue length, re-probing.

The seed kept its two hosts in a `queue.Queue` and a job that hung never gave its host back. Here a
slot is always released, a failed host is skipped for `reprobe_after` seconds and then health-checked
(`/system_stats`) before it gets work again, and asking for a host when none is usable fails at once
with each host's last problem instead of waiting forever. A job goes to the healthy host with a free
slot and the shortest queue: s2v's own jobs there plus everyone else's prompts (`queue_remaining` of
`GET /prompt`), so a host busy with another user's work is not taken for idle. `claim_idle` hands out
a slot on a host that is idle right now, without waiting, for a job stuck behind others (follow.py).
A host that drops out is announced once, and once when it answers again: `take_notices` gives those
lines to whichever job asks next, which logs them as warnings (`s2v --run` prints them).
One pool serves the keyframe and the clip backend of a process (per event loop and host list), so
`per_host_concurrency` holds across stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from s2v_tui.backends.comfy.client import ComfyHost, HostFailure
from s2v_tui.config import ComfySettings
from s2v_tui.domain.errors import ConfigError, TransientError

PROBE_TIMEOUT = 5.0
FRESH_FOR = 30.0
"""A host that answered this recently is not probed again before new work."""
QUEUE_RECHECK = 5.0
"""While waiting for a slot, the hosts' queues are read again this often (other users' prompts end too)."""


@dataclass
class HostState:
    host: ComfyHost
    busy: int = 0
    """Slots s2v holds on this host."""
    queued: int = 0
    """Of those, the ones whose prompt is in the host's queue (counted in its `queue_remaining`)."""
    down_until: float = 0.0
    problem: str = ""
    last_ok: float = 0.0
    announced_down: bool = False
    probe_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Slot:
    """One held concurrency slot on a host; `release()` gives it back (more calls do nothing)."""

    def __init__(self, pool: HostPool, state: HostState) -> None:
        self.pool, self.state = pool, state
        self.host = state.host
        self._queued = self._released = False

    def submitted(self) -> None:
        """Our prompt is now in the host's queue."""
        if not self._queued and not self._released:
            self._queued = True
            self.state.queued += 1

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self.state.busy -= 1
        self.state.queued -= self._queued
        self.pool.freed()


class HostPool:
    def __init__(self, settings: ComfySettings) -> None:
        if not settings.hosts:
            raise ConfigError("no ComfyUI hosts configured", hint="set COMFY_HOSTS_LIST=http://host:8188,...")
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.request_timeout, connect=PROBE_TIMEOUT))
        self.states = [HostState(ComfyHost(url, self.http)) for url in dict.fromkeys(settings.hosts)]
        self._freed = asyncio.Event()
        self.notices: list[str] = []
        self.users = 0

    def state(self, url: str) -> HostState | None:
        return next((s for s in self.states if s.host.url == url.rstrip("/")), None)

    @property
    def urls(self) -> list[str]:
        return [s.host.url for s in self.states]

    # -- health ----------------------------------------------------------------------------------
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
            self.mark_ok(state.host.url)
            return True

    def mark_down(self, url: str, problem: str) -> None:
        state = self.state(url)
        if state is None:
            return
        state.down_until, state.problem, state.last_ok = time.monotonic() + self.settings.reprobe_after, problem, 0.0
        if not state.announced_down:
            state.announced_down = True
            said = problem if problem.startswith("is ") else f"failed: {problem}"
            self.notices.append(f"ComfyUI host {url} {said}; leaving it out until it answers again "
                                f"(re-checked every {self.settings.reprobe_after:g}s)")

    def mark_ok(self, url: str) -> None:
        state = self.state(url)
        if state is None:
            return
        state.last_ok, state.problem = time.monotonic(), ""
        if state.announced_down:
            state.announced_down = False
            self.notices.append(f"ComfyUI host {url} answers again; it takes work again")

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    async def _foreign(self, state: HostState) -> int | None:
        """Prompts in the host's queue that are not ours; None (and the host marked down) if it fails."""
        queued = state.queued
        try:
            remaining = await state.host.queue_remaining(PROBE_TIMEOUT)
        except HostFailure as exc:
            self.mark_down(state.host.url, exc.reason)
            return None
        return max(0, remaining - queued)

    # -- dispatch --------------------------------------------------------------------------------
    def freed(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    @asynccontextmanager
    async def slot(self, exclude: Mapping[str, str] | None = None, only: str | None = None) -> AsyncIterator[Slot]:
        """Hold one concurrency slot on the healthy host with the shortest queue (not in `exclude`)."""
        held = await self.acquire(exclude or {}, only)
        try:
            yield held
        finally:
            held.release()

    async def acquire(self, exclude: Mapping[str, str], only: str | None = None) -> Slot:
        give_up = time.monotonic() + self.settings.job_deadline
        while True:
            candidates = [s for s in self.states if s.host.url not in exclude and only in (None, s.host.url)]
            usable = [s for s in candidates if time.monotonic() >= s.down_until]
            healthy = [s for s, ok in zip(usable, await asyncio.gather(*(self._probe(s) for s in usable)),
                                         strict=True) if ok]
            if not healthy:
                raise self._none_usable(candidates, exclude)
            foreign = await asyncio.gather(*(self._foreign(s) for s in healthy))
            loads = [(s.busy + f, index, s) for index, (s, f) in enumerate(zip(healthy, foreign, strict=True))
                     if f is not None]
            if not loads:
                continue  # the queue reads failed: those hosts are down now
            # The shortest queue wins; if its host has no free slot, waiting for one beats joining a longer
            # queue elsewhere. Ties go to the earlier host in COMFY_HOSTS_LIST.
            shortest = min(load for load, _, _ in loads)
            free = [r for r in loads if r[0] == shortest and r[2].busy < self.settings.per_host_concurrency]
            if free:
                chosen = min(free, key=lambda r: r[:2])[2]
                chosen.busy += 1
                return Slot(self, chosen)
            wait = min(self.settings.reprobe_after, QUEUE_RECHECK, give_up - time.monotonic())
            if wait <= 0:
                raise TransientError("no ComfyUI host slot became free before the job deadline")
            freed = self._freed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await freed.wait()

    async def claim_idle(self, exclude: Mapping[str, str]) -> Slot | None:
        """A slot on a healthy host with nothing queued or running (anyone's), or None right now."""
        for state in self.states:
            if state.host.url in exclude or state.busy or time.monotonic() < state.down_until:
                continue
            if await self._probe(state) and await self._foreign(state) == 0 and not state.busy:
                state.busy += 1
                return Slot(self, state)
        return None

    def _none_usable(self, candidates: list[HostState], exclude: Mapping[str, str]) -> TransientError:
        now = time.monotonic()
        problems = [f"{s.host.url} ({exclude.get(s.host.url) or s.problem or 'down'})" for s in self.states
                    if s.problem or s.host.url in exclude]
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
