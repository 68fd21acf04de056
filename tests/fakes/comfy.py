"""A loopback fake of a ComfyUI server (HTTP + WebSocket), faithful to protocols.md §6 and §10.

    with ComfyFake() as comfy:           # comfy.url / comfy.ws_url + "/ws?clientId=..."
        ...

Every route also exists under `/api/...`. Route keys for `comfy.faults.add(key, Fault(...))` drop the
`/api` prefix and normalise ids:

    POST /prompt            submit (validated like the real server)   GET  /prompt       exec_info
    GET  /history           list (?max_items=&offset=)                GET  /history/{id} one entry or {}
    POST /history           {"clear":true} | {"delete":[ids]}          GET  /view         ?filename&subfolder&type
    POST /upload/image      multipart image/type/subfolder/overwrite  GET  /queue        running + pending
    POST /queue             {"clear":true} | {"delete":[ids]}         POST /interrupt    optional {"prompt_id"}
    POST /free              accepted and ignored                      GET  /system_stats
    GET  /object_info       whole catalogue                           GET  /object_info/{class}
    GET  /models            folder names                              GET  /models/{folder}
    GET  /features, /embeddings, /extensions                          GET  /ws           the WebSocket

Behaviour (see comfy_catalogue.py for validation, comfy_exec.py for execution):
- One prompt runs at a time from a queue ordered by `number`. WS events go only to the prompt's client_id,
  except `status`, which is broadcast: status(q) on submit, status(q) when taken, execution_start,
  execution_cached, then per executed node progress_state + executing (+ progress per sampler step,
  `step_delay` s apart), executed for output nodes, execution_success | execution_error |
  execution_interrupted, then /history is written, status(q), and finally executing {node: null, prompt_id}.
- Caching like ComfyUI's classic cache: a node whose input signature ran in the previous prompt is cached;
  an identical resubmit is fully cached (no new files, history points at the old ones).
- Real bytes: PNGs of the latent size; MP4s at 1/4 size with the exact frame count and fps.
- execution_error's exception_message is formatted like the real server: "{message}\\n{tips}" (tips are
  non-empty only for torch.OutOfMemoryError).

Constructor: `ComfyFake(models=None, step_delay=0.005, node_delay=0.0, version="0.3.64")`; `models` maps a model
folder (checkpoints, diffusion_models, text_encoders, vae, clip_vision, loras, ...) to its files and feeds the
loader combos (default `comfy_catalogue.DEFAULT_MODELS`).

Controls (thread-safe): `error_next(exception_message, node_id=None, exception_type="torch.OutOfMemoryError")`,
`stall_next(node_id=None)`, `race_next_delete()`, `die()` (sets `dead`; not restartable, `stop()` still cleans up). Records: `prompts`
(accepted submits: prompt_id, number, prompt, client_id, extra_data, outputs), `interrupts` (prompt_id asked,
running, interrupted), `uploads` ({"[sub/]name": bytes}), `history`, `files` ({(type, subfolder, name): bytes}).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web

from tests.fakes.comfy_catalogue import DEFAULT_MODELS, NODES, validate_prompt
from tests.fakes.comfy_exec import Executor, NodeFailure, Storage, execution_order, is_link, sampler_steps, signatures
from tests.fakes.comfy_http import ComfyHttpRoutes
from tests.fakes.server import FakeServer

OOM_TIPS = ("This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might "
            "have accidentally set the batch_size to a large number.")
SAMPLERS = ("KSampler", "KSamplerAdvanced")


def _ms() -> int:
    return int(time.time() * 1000)


class _Interrupted(Exception):
    pass


@dataclass
class _Item:
    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]

    def row(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


class ComfyFake(ComfyHttpRoutes, FakeServer):
    def __init__(self, models: dict[str, list[str]] | None = None, step_delay: float = 0.005,
                 node_delay: float = 0.0, version: str = "0.3.64") -> None:
        super().__init__()
        self.models = {k: list(v) for k, v in (DEFAULT_MODELS if models is None else models).items()}
        self.step_delay = step_delay
        self.node_delay = node_delay
        self.version = version
        self.storage = Storage()
        self.files = self.storage.files
        self.prompts: list[dict[str, Any]] = []
        self.interrupts: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._error_next: dict[str, Any] | None = None
        self._stall_next: str | None | bool = False
        self._race_delete = False
        self._queue: list[_Item] = []
        self._running: _Item | None = None
        self._number = 0
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._client_id: str | None = None
        self._last_node: str | None = None
        self._cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        self._executor = Executor(self.storage, self._input_bytes)
        self._tasks: list[asyncio.Task[None]] = []
        self.dead = False

    # -- test controls -----------------------------------------------------------------------------
    def error_next(self, exception_message: str = "Allocation on device", node_id: str | None = None,
                   exception_type: str = "torch.OutOfMemoryError") -> None:
        """The next executed prompt fails with execution_error at `node_id` (default: its first sampler)."""
        with self._lock:
            self._error_next = {"message": exception_message, "node_id": node_id, "type": exception_type}

    def stall_next(self, node_id: str | None = None) -> None:
        """The next prompt hangs at `node_id` (default: its first sampler) until interrupted or stopped."""
        with self._lock:
            self._stall_next = node_id

    def race_next_delete(self) -> None:
        """The next `POST /queue {"delete"}` arrives just as the prompt at the head of the queue is taken:
        the running prompt is interrupted and the head starts before the delete is applied."""
        with self._lock:
            self._race_delete = True

    async def _let_the_head_start(self) -> None:
        head = min(self._queue, key=lambda i: i.number).prompt_id if self._queue else None
        self._interrupt_flag.set()
        for _ in range(500):
            if head is None or (self._running is not None and self._running.prompt_id == head):
                return
            await asyncio.sleep(0.01)

    def die(self) -> None:
        """Stop serving abruptly: abort every connection (HTTP and WS) and close the listening socket."""
        if self._loop is not None and not self.dead:
            self.call_in_loop(self._die())

    @property
    def queue_remaining(self) -> int:
        return len(self._queue) + (1 if self._running is not None else 0)

    # -- app -----------------------------------------------------------------------------------------
    def route_key(self, request: web.Request) -> str:
        path = request.path[4:] if request.path.startswith("/api/") else request.path
        for prefix in ("/history/", "/object_info/", "/models/"):
            if path.startswith(prefix) and len(path) > len(prefix):
                path = prefix + {"/history/": "{id}", "/object_info/": "{class}", "/models/": "{folder}"}[prefix]
        return f"{request.method} {path}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[self._origin_check])
        routes = [
            ("GET", "/ws", self._ws), ("POST", "/prompt", self._post_prompt), ("GET", "/prompt", self._get_prompt),
            ("GET", "/history", self._get_history), ("GET", "/history/{prompt_id}", self._get_history_one),
            ("POST", "/history", self._post_history), ("GET", "/view", self._view),
            ("POST", "/upload/image", self._upload), ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue), ("POST", "/interrupt", self._interrupt),
            ("POST", "/free", self._ok), ("GET", "/system_stats", self._system_stats),
            ("GET", "/object_info", self._object_info), ("GET", "/object_info/{node_class}", self._object_info),
            ("GET", "/models", self._models), ("GET", "/models/{folder}", self._models),
            ("GET", "/features", self._features), ("GET", "/embeddings", self._empty_list),
            ("GET", "/extensions", self._empty_list),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
        app.on_startup.append(self._on_startup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._wake = asyncio.Event()
        self._interrupt_flag = asyncio.Event()
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any], str | None]] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._worker()), asyncio.create_task(self._publisher())]

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for ws in list(self._sockets.values()):
            await ws.close(code=WSCloseCode.GOING_AWAY)
        await super()._shutdown()

    async def _die(self) -> None:
        self.dead = True
        for task in self._tasks:
            task.cancel()
        assert self._runner is not None
        for site in list(self._runner.sites):
            if site._server is not None:  # type: ignore[attr-defined]
                site._server.close()  # type: ignore[attr-defined]
        if self._runner.server is not None:
            for conn in list(self._runner.server.connections):
                if conn.transport is not None:
                    conn.transport.abort()

    @web.middleware
    async def _origin_check(self, request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc not in ("", request.headers.get("Host", "")):
            return web.Response(status=403)
        return await handler(request)

    # -- prompt submission ---------------------------------------------------------------------------
    async def _post_prompt(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict):
                raise TypeError("body is not an object")
        except (ValueError, TypeError):
            return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        if "number" in data:
            number: float = float(data["number"])
        else:
            number = -self._number if data.get("front") else self._number
            self._number += 1
        if "prompt" not in data:
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                     "extra_info": {}}
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        prompt = data["prompt"]
        if not isinstance(prompt, dict):
            return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        prompt_id = str(data.get("prompt_id", uuid.uuid4()))
        valid, error, outputs, node_errors = validate_prompt(prompt, self.models, self._input_files(),
                                                             lambda name: self._input_bytes(name) is not None)
        extra = dict(data.get("extra_data") or {})
        if "client_id" in data:
            extra["client_id"] = data["client_id"]
        if not valid:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        extra["create_time"] = _ms()
        self._queue.append(_Item(number, prompt_id, prompt, extra, outputs))
        self.prompts.append({"prompt_id": prompt_id, "number": number, "prompt": prompt,
                             "client_id": extra.get("client_id"), "extra_data": extra, "outputs": outputs})
        self._queue_updated()
        self._wake.set()
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})

    # -- execution -----------------------------------------------------------------------------------
    async def _worker(self) -> None:
        while True:
            await self._wake.wait()
            if not self._queue:
                self._wake.clear()
                continue
            item = min(self._queue, key=lambda i: i.number)
            self._queue.remove(item)
            self._running = item
            self._queue_updated()
            try:
                await self._execute(item)
            except Exception as ex:  # noqa: BLE001 - a fake bug must not wedge the queue: fail the prompt loudly
                error = {"prompt_id": item.prompt_id, "exception_message": f"fake ComfyUI bug: {ex!r}"}
                self.history[item.prompt_id] = {"prompt": item.row(), "outputs": {}, "meta": {}, "status": {
                    "status_str": "error", "completed": False, "messages": [["execution_error", error]]}}
                self._running = None
                self._queue_updated()
                self._emit("executing", {"node": None, "prompt_id": item.prompt_id}, item.extra_data.get("client_id"))

    def _is_changed(self, class_type: str, inputs: dict[str, Any]) -> str:
        if class_type == "LoadImage" and isinstance(inputs.get("image"), str):
            return hashlib.sha256(self._input_bytes(inputs["image"]) or b"").hexdigest()
        return ""

    @staticmethod
    def _pick(order: list[str], prompt: dict[str, Any], wanted: str | None) -> str:
        if wanted in order:
            return str(wanted)
        samplers = [n for n in order if prompt[n]["class_type"] in SAMPLERS]
        return samplers[0] if samplers else order[-1]

    async def _execute(self, item: _Item) -> None:
        pid, prompt = item.prompt_id, item.prompt
        client = item.extra_data.get("client_id")
        self._client_id = client
        self._interrupt_flag.clear()
        messages: list[list[Any]] = []

        def add(event: str, data: dict[str, Any], broadcast: bool = False) -> None:
            data = {**data, "timestamp": _ms()}
            messages.append([event, data])
            if client is not None or broadcast:
                self._emit(event, data, client)

        order = execution_order(prompt, item.outputs)
        with self._lock:
            error, self._error_next = self._error_next, None
            stall, self._stall_next = self._stall_next, False
        salt: dict[str, str] = {}
        error_at = stall_at = None
        if error is not None:
            error_at = self._pick(order, prompt, error["node_id"])
            salt[error_at] = uuid.uuid4().hex
        if stall is not False:
            stall_at = self._pick(order, prompt, stall)  # type: ignore[arg-type]
            salt[stall_at] = uuid.uuid4().hex
        add("execution_start", {"prompt_id": pid})
        sigs = signatures(prompt, order, self._is_changed, salt)
        live = set(sigs.values())
        self._cache = {k: v for k, v in self._cache.items() if k in live}
        cached = [n for n in prompt if n in sigs and sigs[n] in self._cache]
        add("execution_cached", {"nodes": cached, "prompt_id": pid})
        values: dict[str, tuple[Any, ...]] = {}
        outputs: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        executed: list[str] = []
        progress: dict[str, dict[str, Any]] = {}

        def state(node_id: str, value: float, maximum: float, st: str) -> None:
            progress[node_id] = {"value": value, "max": maximum, "state": st, "node_id": node_id, "prompt_id": pid,
                                 "display_node_id": node_id, "parent_node_id": None, "real_node_id": node_id}
            self._emit("progress_state", {"prompt_id": pid, "nodes": {k: dict(v) for k, v in progress.items()}},
                       client)

        def record(node_id: str, ui: dict[str, Any] | None) -> None:
            if ui is None:
                return
            outputs[node_id] = ui
            meta[node_id] = {"node_id": node_id, "display_node": node_id, "parent_node": None,
                             "real_node_id": node_id}
            if client is not None:
                self._emit("executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid},
                           client)

        for node_id in order:
            class_type = prompt[node_id]["class_type"]
            if sigs[node_id] in self._cache:
                values[node_id], ui = self._cache[sigs[node_id]]
                if NODES[class_type].output_node:
                    record(node_id, ui)
                    if ui is None and client is not None:
                        self._emit("executed", {"node": node_id, "display_node": node_id, "output": None,
                                                "prompt_id": pid}, client)
                    state(node_id, 1, 1, "finished")
                continue
            state(node_id, 0, 1, "running")
            if client is not None:
                self._last_node = node_id
                self._emit("executing", {"node": node_id, "display_node": node_id, "prompt_id": pid}, client)
            inputs: dict[str, Any] = {}
            try:
                await self._checkpoint(self.node_delay)
                inputs = {k: values[v[0]][v[1]] if is_link(v) else v for k, v in prompt[node_id]["inputs"].items()}
                if node_id == stall_at:
                    await self._interrupt_flag.wait()
                    raise _Interrupted
                steps = sampler_steps(class_type, inputs)
                for step in range(1, steps + 1):
                    await self._checkpoint(self.step_delay)
                    state(node_id, step, steps, "running")
                    self._emit("progress", {"value": step, "max": steps, "prompt_id": pid, "node": node_id}, client)
                if node_id == error_at:
                    assert error is not None
                    raise NodeFailure(error["type"], error["message"])
                values[node_id], ui = await self._executor.run(class_type, node_id, inputs)
            except _Interrupted:
                add("execution_interrupted", {"prompt_id": pid, "node_id": node_id, "node_type": class_type,
                                              "executed": list(executed)}, broadcast=True)
                break
            except Exception as ex:  # noqa: BLE001 - NodeFailure or a fake bug, both reported like ComfyUI
                exc_type = ex.exception_type if isinstance(ex, NodeFailure) else type(ex).__qualname__
                tips = OOM_TIPS if exc_type == "torch.OutOfMemoryError" else ""
                state(node_id, 0, 1, "error")
                add("execution_error", {
                    "prompt_id": pid, "node_id": node_id, "node_type": class_type, "executed": list(executed),
                    "exception_message": f"{ex}\n{tips}", "exception_type": exc_type,
                    "traceback": [f'  File "/comfy/execution.py", line 496, in execute\n    raise {exc_type}\n'],
                    "current_inputs": {k: [v if isinstance(v, (int, float, str, bool)) or v is None else
                                           str(type(v))] for k, v in inputs.items()},
                    "current_outputs": list(cached)})
                break
            self._cache[sigs[node_id]] = (values[node_id], ui)
            record(node_id, ui)
            state(node_id, 1, 1, "finished")
            executed.append(node_id)
        else:
            add("execution_success", {"prompt_id": pid})
        failed = messages[-1][0] != "execution_success"
        self.history[pid] = {"prompt": item.row(), "outputs": outputs, "meta": meta, "status": {
            "status_str": "error" if failed else "success", "completed": not failed, "messages": messages}}
        self._running = None
        self._last_node = None
        self._queue_updated()
        if client is not None:
            self._emit("executing", {"node": None, "prompt_id": pid}, client)

    async def _checkpoint(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self._interrupt_flag.is_set():
            raise _Interrupted

    async def _interrupt(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except json.JSONDecodeError:
            body = {}
        wanted = body.get("prompt_id") if isinstance(body, dict) else None
        running = self._running.prompt_id if self._running is not None else None
        hit = (not wanted) or wanted == running
        if hit:
            self._interrupt_flag.set()
        self.interrupts.append({"prompt_id": wanted, "running": running, "interrupted": hit and running is not None})
        return web.Response(status=200)
