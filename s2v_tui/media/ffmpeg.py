"""Running ffmpeg: the bundled binary, argv compilation and an asyncio runner with progress.

Graphs are built with ffmpeg-python and compiled to argv (never `.run()`, which blocks the event
loop). `run_ffmpeg` starts the pip-bundled imageio-ffmpeg binary as an asyncio subprocess, parses
`-progress pipe:1` into fractions, can feed stdin from an async frame source, keeps the stderr tail
for error messages, and kills the process if the awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_graph

from s2v_tui.domain.errors import MediaError
from s2v_tui.faults import fault_point

ProgressCallback = Callable[[float], None]

GLOBAL_ARGS = ["-hide_banner", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"]


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the imageio-ffmpeg binary (static build with libx264, libass, freetype)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def compile_graph(stream: Any, *, extra_global: list[str] | None = None) -> list[str]:
    """Compile an ffmpeg-python graph to argv, with our global flags placed before the inputs."""
    return [ffmpeg_exe(), *GLOBAL_ARGS, *(extra_global or []), *ffmpeg_graph.get_args(stream)]


PIPE_BYTES = 1 << 20
"""Pipe buffer asked for (Linux's default ceiling for unprivileged processes): a 720x1280 frame
goes through in two writes instead of twenty-one."""


def _widen_pipe(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or a lower ceiling: keep the default
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _parse_progress(line: str, state: dict[str, str]) -> float | None:
    """Feed one `-progress` line; returns processed seconds at each block end."""
    key, _, value = line.partition("=")
    state[key.strip()] = value.strip()
    if key.strip() != "progress":
        return None
    micros = state.get("out_time_us") or state.get("out_time_ms")
    try:
        return max(0.0, int(micros or 0) / 1_000_000)
    except ValueError:
        return None


async def run_ffmpeg(
    argv: list[str],
    *,
    cwd: Path | None = None,
    total_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    stdin_writer: Callable[[int], None] | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ffmpeg to completion.

    Args:
        argv: full argv, usually from `compile_graph`.
        cwd: working directory (lets filters use plain relative file names, no escaping).
        total_seconds: expected output length, to turn progress into a fraction.
        on_progress: called with 0..1.
        stdin_writer: writes ffmpeg's stdin (e.g. rawvideo frames) to the file descriptor it is given,
            blocking, in a worker thread: whole frames go through the pipe without the event loop.
        what: a short description used in error messages.

    Raises:
        MediaError: non-zero exit, with the last stderr lines.
    """
    read_end, write_end = os.pipe() if stdin_writer is not None else (None, None)
    try:
        if write_end is not None:
            _widen_pipe(write_end)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd) if cwd else None,
            stdin=read_end if read_end is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except BaseException:
        for fd in (read_end, write_end):
            if fd is not None:
                os.close(fd)
        raise
    if read_end is not None:
        os.close(read_end)  # ffmpeg holds its own copy; ours would keep the pipe open after it dies
    stderr_tail: deque[str] = deque(maxlen=25)

    async def read_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            stderr_tail.append(raw.decode("utf-8", "replace").rstrip())

    async def read_progress() -> None:
        assert proc.stdout is not None
        state: dict[str, str] = {}
        async for raw in proc.stdout:
            seconds = _parse_progress(raw.decode("utf-8", "replace"), state)
            if seconds is not None and on_progress and total_seconds:
                on_progress(min(1.0, seconds / total_seconds))

    loop = asyncio.get_running_loop()
    written = asyncio.Event()
    writer_errors: list[BaseException] = []

    def feed_stdin() -> None:
        assert stdin_writer is not None and write_end is not None
        try:
            stdin_writer(write_end)
        except (BrokenPipeError, ConnectionResetError):
            pass  # ffmpeg died; its exit code and stderr tell why
        except BaseException as exc:  # noqa: BLE001 - re-raised on the event loop's side
            writer_errors.append(exc)
        finally:
            os.close(write_end)  # end of input (or of a dead pipe)
            loop.call_soon_threadsafe(written.set)

    tasks = [asyncio.create_task(read_stderr()), asyncio.create_task(read_progress())]
    if stdin_writer is not None:
        threading.Thread(target=feed_stdin, name="ffmpeg-stdin", daemon=True).start()
        tasks.append(asyncio.create_task(written.wait()))
    try:
        await asyncio.gather(*tasks)
        code = await proc.wait()
    except BaseException:
        for task in tasks:
            task.cancel()
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if stdin_writer is not None:
            await written.wait()  # the writer thread ends on EPIPE now that ffmpeg is gone
        raise
    if writer_errors:
        raise writer_errors[0]
    if code != 0:
        detail = " | ".join(line for line in stderr_tail if line) or f"exit code {code}"
        raise MediaError(f"{what} failed: {detail}",
                         hint="the input media may be broken; rerun to rebuild it, or report this with the log")
    fault_point("encode")
    if on_progress:
        on_progress(1.0)


async def capture_ffmpeg_stderr(argv: list[str], *, cwd: Path | None = None, what: str = "ffmpeg") -> str:
    """Run ffmpeg for its stderr report (e.g. loudnorm measurements); raises MediaError on failure."""
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=str(cwd) if cwd else None, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await proc.communicate()
    except BaseException:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        raise
    text = stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = " | ".join(text.strip().splitlines()[-8:])
        raise MediaError(f"{what} failed: {tail}")
    return text
