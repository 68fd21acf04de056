"""A ComfyUI WebSocket (`/ws?clientId=`) read in a worker thread and bridged into an asyncio.Queue.

`websocket-client` is blocking, so one daemon thread per open socket reads frames and hands each JSON
text frame to the event loop with `call_soon_threadsafe`. Binary frames (preview images) are dropped.
When the socket ends for any reason the queue receives `CLOSED`, so the waiting side learns at once
and falls back to polling `/history`. Closing aborts the socket (waking the blocked read) and joins
the thread before returning: ComfyUI drops a new socket of the same clientId if the old one closes
after it connected (protocols §10), so a reconnect must wait for the old one to be fully gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import websocket

CLOSED: dict[str, Any] = {"type": "__closed__", "data": {}}
"""Put on the queue when the socket ends (server gone, network drop, or `close()`)."""


def _close_when_connected(connecting: asyncio.Future[websocket.WebSocket]) -> None:
    if not connecting.cancelled() and connecting.exception() is None:
        with contextlib.suppress(Exception):
            connecting.result().close(timeout=0.1)


class EventStream:
    def __init__(self, url: str) -> None:
        self.url = url
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def open(self, timeout: float) -> None:
        """Connect (raises OSError/WebSocketException when the host refuses) and start reading."""
        await self.close()
        connecting = asyncio.ensure_future(asyncio.to_thread(
            websocket.create_connection, self.url, timeout=timeout, enable_multithread=True))
        try:
            ws = await asyncio.shield(connecting)
        except asyncio.CancelledError:  # the thread still connects: close that socket when it does
            connecting.add_done_callback(_close_when_connected)
            raise
        ws.settimeout(None)  # reads block until a frame arrives or close() aborts the socket
        self._ws = ws
        self.queue = asyncio.Queue()  # a fresh queue: nothing from an earlier socket leaks into it
        self._thread = threading.Thread(target=self._read, args=(ws, asyncio.get_running_loop(), self.queue),
                                        name="comfy-ws", daemon=True)
        self._thread.start()

    def _read(self, ws: websocket.WebSocket, loop: asyncio.AbstractEventLoop,
              queue: asyncio.Queue[dict[str, Any]]) -> None:
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    continue  # binary preview frames
                try:
                    message = json.loads(data.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if isinstance(message, dict):
                    loop.call_soon_threadsafe(queue.put_nowait, message)
        except Exception:  # noqa: BLE001 - any socket failure just ends the stream
            pass
        finally:
            with contextlib.suppress(Exception):
                ws.shutdown()
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(queue.put_nowait, CLOSED)

    async def close(self) -> None:
        ws, thread = self._ws, self._thread
        self._ws = self._thread = None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.abort()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.shutdown()
