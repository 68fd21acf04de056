"""Routes of the ComfyUI fake that do not run prompts: the WebSocket, files, history, queue and info.

Mixed into `tests.fakes.comfy.ComfyFake`; see that module for the route table and behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import posixpath
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.comfy_catalogue import NODES, object_info
from tests.fakes.formdata import read_form

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
FEATURES = {"supports_preview_metadata": True, "max_upload_size": 100 * 1024 * 1024}


class ComfyHttpRoutes:
    """Needs: files, uploads, history, models, version, port, queue_remaining, _queue, _running, _sockets,
    _client_id, _last_node, _outbox."""

    files: dict[tuple[str, str, str], bytes]
    uploads: dict[str, bytes]
    history: dict[str, dict[str, Any]]
    models: dict[str, list[str]]
    version: str
    port: int
    _queue: list[Any]
    _running: Any

    _sockets: dict[str, web.WebSocketResponse]
    _client_id: str | None
    _last_node: str | None
    _outbox: asyncio.Queue[tuple[str, dict[str, Any], str | None]]
    _race_delete: bool
    queue_remaining: int

    async def _let_the_head_start(self) -> None: ...

    # -- WebSocket -----------------------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=1.0, max_msg_size=0)
        await ws.prepare(request)
        sid = request.query.get("clientId", "")
        if sid:
            self._sockets.pop(sid, None)
        else:
            sid = uuid.uuid4().hex
        self._sockets[sid] = ws
        try:
            await ws.send_json({"type": "status", "data": {"status": self._queue_info(), "sid": sid}})
            if self._client_id == sid and self._last_node is not None:  # reconnect replay, no prompt_id
                await ws.send_json({"type": "executing", "data": {"node": self._last_node}})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(data, dict) and data.get("type") == "feature_flags":
                        await ws.send_json({"type": "feature_flags", "data": FEATURES})
        finally:
            self._sockets.pop(sid, None)  # the real server's quirk: an old socket closing drops the new one
        return ws

    def _emit(self, event: str, data: dict[str, Any], sid: str | None = None) -> None:
        self._outbox.put_nowait((event, data, sid))

    async def _publisher(self) -> None:
        while True:
            event, data, sid = await self._outbox.get()
            if sid is None:
                targets = list(self._sockets.values())
            else:
                targets = [self._sockets[sid]] if sid in self._sockets else []
            for ws in targets:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json({"type": event, "data": data})

    def _queue_info(self) -> dict[str, Any]:
        return {"exec_info": {"queue_remaining": self.queue_remaining}}

    def _queue_updated(self) -> None:
        self._emit("status", {"status": self._queue_info()})

    # -- files ---------------------------------------------------------------------------------------
    @staticmethod
    def _annotated(name: str, default: str = "input") -> tuple[str, str]:
        for kind in ("input", "output", "temp"):
            if name.endswith(f" [{kind}]"):
                return name[: -len(kind) - 3], kind
        return name, default

    def _input_bytes(self, name: str) -> bytes | None:
        name, kind = self._annotated(name)
        sub, _, base = name.rpartition("/")
        return self.files.get((kind, sub, base))

    def _input_files(self) -> list[str]:
        return [n for (t, sub, n) in self.files if t == "input" and not sub and n.lower().endswith(IMAGE_EXTS)]

    async def _view(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if "filename" not in query:
            return web.Response(status=404)
        filename, kind = self._annotated(query["filename"], "")
        if not filename or filename[0] == "/" or ".." in filename:
            return web.Response(status=400)
        kind = kind or query.get("type", "output")
        if kind not in ("input", "output", "temp"):
            return web.Response(status=400)
        sub = posixpath.normpath(posixpath.join("root", query.get("subfolder", "")))
        if sub != "root" and not sub.startswith("root/"):
            return web.Response(status=403)
        data = self.files.get((kind, sub[5:], posixpath.basename(filename)))
        if data is None:
            return web.Response(status=404)
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return web.Response(body=data, content_type=ctype,
                            headers={"Content-Disposition": f'filename="{posixpath.basename(filename)}"'})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await read_form(request)
        image = form.get("image")
        if image is None or not image.filename:
            return web.Response(status=400)
        kind = form["type"].text if "type" in form else "input"
        if kind not in ("input", "temp", "output"):
            return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        raw_sub = form["subfolder"].text if "subfolder" in form else ""
        sub = posixpath.normpath(posixpath.join("root", raw_sub, image.filename))
        if not sub.startswith("root/"):
            return web.Response(status=400)
        sub = posixpath.dirname(sub)[5:]
        filename = posixpath.basename(image.filename)
        overwrite = "overwrite" in form and form["overwrite"].text in ("true", "1")
        stem, dot, ext = filename.rpartition(".")
        stem, ext = (stem, dot + ext) if dot else (filename, "")
        i = 1
        while not overwrite and self.files.get((kind, sub, filename), image.value) != image.value:
            filename = f"{stem} ({i}){ext}"
            i += 1
        self.files[(kind, sub, filename)] = image.value
        self.uploads[f"{sub}/{filename}" if sub else filename] = image.value
        return web.json_response({"name": filename, "subfolder": raw_sub, "type": kind})

    # -- small routes --------------------------------------------------------------------------------
    async def _get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response(self._queue_info())

    async def _get_history(self, request: web.Request) -> web.Response:
        max_items = int(request.query["max_items"]) if "max_items" in request.query else None
        offset = int(request.query.get("offset", -1))
        if offset < 0 and max_items is not None:
            offset = len(self.history) - max_items
        out: dict[str, Any] = {}
        for i, (key, entry) in enumerate(list(self.history.items())):
            if i >= offset:
                out[key] = entry
                if max_items is not None and len(out) >= max_items:
                    break
        return web.json_response(out)

    async def _get_history_one(self, request: web.Request) -> web.Response:
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def _post_history(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        if body.get("clear"):
            self.history.clear()
        for pid in body.get("delete", []):
            self.history.pop(pid, None)
        return web.Response(status=200)

    async def _get_queue(self, request: web.Request) -> web.Response:
        running = [self._running.row()] if self._running is not None else []
        pending = [i.row() for i in sorted(self._queue, key=lambda i: i.number)]
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def _post_queue(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        if body.get("delete") and self._race_delete:
            self._race_delete = False
            await self._let_the_head_start()
        if body.get("clear"):
            self._queue.clear()
            self._queue_updated()
        for pid in body.get("delete", []):
            before = len(self._queue)
            self._queue[:] = [i for i in self._queue if i.prompt_id != pid]
            if len(self._queue) != before:
                self._queue_updated()
        return web.Response(status=200)

    async def _system_stats(self, request: web.Request) -> web.Response:
        gib = 1 << 30
        return web.json_response({
            "system": {"os": "posix", "ram_total": 64 * gib, "ram_free": 48 * gib, "comfyui_version": self.version,
                       "required_frontend_version": "1.27.10", "python_version": "3.11.9 (main) [GCC 11.4.0]",
                       "pytorch_version": "2.8.0+cu128", "embedded_python": False,
                       "argv": ["main.py", "--listen", "127.0.0.1", "--port", str(self.port)]},
            "devices": [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda", "index": 0,
                         "vram_total": 24 * gib, "vram_free": 22 * gib, "torch_vram_total": 0,
                         "torch_vram_free": 0}]})

    async def _object_info(self, request: web.Request) -> web.Response:
        only = request.match_info.get("node_class")
        if only is not None and only not in NODES:
            return web.json_response({})
        return web.json_response(object_info(self.models, self._input_files(), only))

    async def _models(self, request: web.Request) -> web.Response:
        folder = request.match_info.get("folder")
        if folder is None:
            return web.json_response(list(self.models))
        if folder not in self.models:
            return web.Response(status=404)
        return web.json_response(sorted(self.models[folder]))

    async def _features(self, request: web.Request) -> web.Response:
        return web.json_response(FEATURES)

    async def _empty_list(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def _ok(self, request: web.Request) -> web.Response:
        return web.Response(status=200)
