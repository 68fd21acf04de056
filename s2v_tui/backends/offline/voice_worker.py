"""The Kokoro voice's worker process: the model loads once per process and never on the event loop.

Synthesis runs in one child process (spawned, so it inherits no threads or locks from the studio),
which loads the model on its first request and keeps it. A process rather than a thread, because
creating the ONNX Runtime session and segmenting Chinese (jieba builds its dictionary in Python) hold
the GIL for up to ~150 ms at a time: in a thread that would stall the studio's screen. Requests queue
in the child in order; their results (PCM + word timings) come back pickled, errors as (message, hint).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache

from s2v_tui.backends.offline.kokoro_model import FALLBACK_HINT
from s2v_tui.backends.offline.speech import Speech
from s2v_tui.domain.errors import BackendError, S2VError

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_engine = None
"""The worker process's loaded model (a `Kokoro`), made by its first request."""
loads = 0
"""How many times this process loaded the model (the worker reports it; tests check it is 1)."""


@dataclass(frozen=True)
class _Failure:
    message: str
    hint: str | None


def _engine_for(threads: int):  # type: ignore[no-untyped-def]
    global _engine, loads
    if _engine is None:
        from s2v_tui.backends.offline.espeak import Espeak
        from s2v_tui.backends.offline.kokoro import Kokoro

        espeak = Espeak.instance()
        english = lru_cache(maxsize=8192)(lambda word: espeak.phonemes(word, voice="en-us"))
        _engine = Kokoro(threads, english)
        loads += 1
    return _engine


def _jieba_cache() -> None:
    """jieba caches its prefix dictionary in the system temp dir by default; keep it with ours."""
    import jieba

    from s2v_tui.backends.offline.kokoro_model import cache_dir

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    jieba.dt.cache_file = str(folder / "jieba.cache")


def _speak(threads: int, text: str, language: str, style: str, speed: float) -> Speech | _Failure:
    """Runs in the worker process."""
    try:
        if language == "zh" and _engine is None:
            _jieba_cache()
        return _engine_for(threads).synthesize(text, language=language, style=style, speed=speed)
    except S2VError as exc:
        return _Failure(exc.message, exc.hint)


def _worker_state() -> tuple[int, int]:
    """(process id, model loads) of the worker; for `s2v doctor`-style checks and tests."""
    return os.getpid(), loads


def _ignore_interrupts() -> None:
    """Ctrl+C reaches the whole process group; the parent decides what stops (and stops the worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_ignore_interrupts)
        return _pool


async def _call(function, *args):  # type: ignore[no-untyped-def]
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), function, *args)
    except BrokenProcessPool:
        with _pool_lock:
            _pool = None  # the next request starts a fresh worker
        raise BackendError("the Kokoro voice worker process stopped unexpectedly",
                           hint=FALLBACK_HINT) from None


async def speak(text: str, *, language: str, style: str, speed: float, threads: int) -> Speech:
    """Synthesise in the worker process; the event loop only waits."""
    result = await _call(_speak, threads, text, language, style, speed)
    if isinstance(result, _Failure):
        raise BackendError(result.message, hint=result.hint)
    return result


async def worker_state() -> tuple[int, int]:
    return await _call(_worker_state)


def shutdown() -> None:
    """Stop the worker (the next request starts a new one)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
