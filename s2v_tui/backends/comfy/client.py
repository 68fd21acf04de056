"""The HTTP API of one ComfyUI host: health, node schemas, upload, queue, history, view, interrupt.

Nothing assumes a shared filesystem: the keyframe goes up with `/upload/image` and results come back
through `/view`, so hosts can be other machines. A host that cannot be reached or answers 5xx raises
`HostFailure` (the pool fails the job over to another host); a 400 from `/prompt` is the workflow's
fault and becomes a `WorkflowRejectedError` naming the node, the input, the reason and the host.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx

from s2v_tui.backends.comfy.validation import Rejection
from s2v_tui.backends.http import download
from s2v_tui.domain.errors import TransientError

QueueState = Literal["running", "pending", "absent"]

PROVIDER = "ComfyUI"


class HostFailure(TransientError):
    """This host failed (unreachable, 5xx, stalled, restarted): the job can be retried on another host."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"ComfyUI host {host}: {message}",
                         hint="check that ComfyUI is running there; other hosts in COMFY_HOSTS_LIST are tried")
        self.host = host
        self.reason = message


class ComfyHost:
    """One ComfyUI server, addressed by its base URL (e.g. http://gpu-box:8188)."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self._schemas: dict[str, dict[str, Any] | None] = {}
        self._schemas_lock: asyncio.Lock | None = None
        self._describes = True
        """False once the host answered `/object_info/{class}` with something other than a schema."""

    def ws_url(self, client_id: str) -> str:
        scheme = "wss" if self.url.startswith("https") else "ws"
        return f"{scheme}://{self.url.split('://', 1)[-1]}/ws?clientId={client_id}"

    async def _call(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        try:
            extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
            response = await self.http.request(method, self.url + path, **extra, **kwargs)
        except httpx.HTTPError as exc:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "is unreachable"
            raise HostFailure(self.url, f"{kind} ({type(exc).__name__} on {method} {path})") from None
        if response.status_code >= 500:
            raise HostFailure(self.url, f"HTTP {response.status_code} on {method} {path}: {response.text[:200]}")
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, **kwargs)
        if response.status_code != 200:
            raise HostFailure(self.url, f"HTTP {response.status_code} on {method} {path}")
        try:
            return response.json()
        except ValueError:
            raise HostFailure(self.url, f"{method} {path} did not answer JSON (is this a ComfyUI server?)") from None

    async def system_stats(self, timeout: float) -> dict[str, Any]:
        body = await self._json("GET", "/system_stats", timeout=timeout)
        if not isinstance(body, dict) or not isinstance(body.get("system"), dict) \
                or not isinstance(body.get("devices"), list):
            raise HostFailure(self.url, f"GET /system_stats answered {str(body)[:120]!r}, which is not ComfyUI's "
                                        "(no system/devices)")
        return body

    async def queue_remaining(self, timeout: float | None = None) -> int:
        """Prompts queued or running on this host, everyone's (`GET /prompt`)."""
        body = await self._json("GET", "/prompt", timeout=timeout)
        try:
            return int(body["exec_info"]["queue_remaining"])
        except (KeyError, TypeError, ValueError):
            raise HostFailure(self.url, f"GET /prompt answered {str(body)[:200]}") from None

    async def node_schemas(self, classes: Iterable[str]) -> dict[str, dict[str, Any]] | None:
        """`/object_info/{class}` of each class this host has (each fetched once per host); None when the
        host does not describe its nodes, so nothing can be checked before submitting."""
        classes = list(dict.fromkeys(classes))
        if self._schemas_lock is None:
            self._schemas_lock = asyncio.Lock()
        async with self._schemas_lock:
            wanted = [c for c in classes if c not in self._schemas] if self._describes else []
            responses = await asyncio.gather(*(self._call("GET", f"/object_info/{quote(c, safe='')}")
                                               for c in wanted))
            for name, response in zip(wanted, responses, strict=True):
                try:
                    body = response.json() if response.status_code == 200 else None
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._describes = False
                    break
                entry = body.get(name)
                self._schemas[name] = entry if isinstance(entry, dict) else None
        if not self._describes:
            return None
        return {c: s for c in classes if (s := self._schemas.get(c)) is not None}

    async def upload_image(self, path: Path, name: str) -> str:
        """Upload a file for LoadImage; returns the name to put in its `image` input."""
        mime = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "image/png"
        files = {"image": (name, path.read_bytes(), mime)}
        body = await self._json("POST", "/upload/image", files=files, data={"type": "input", "overwrite": "true"})
        if not isinstance(body, dict) or not body.get("name"):
            raise HostFailure(self.url, f"/upload/image answered {str(body)[:200]}")
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else str(body["name"])

    async def queue_prompt(self, graph: dict[str, Any], client_id: str, prompt_id: str) -> str | Rejection:
        """Queue the graph; its prompt id, or the host's reasons when it refuses the workflow (400)."""
        response = await self._call("POST", "/prompt", content=json.dumps(
            {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}),
            headers={"Content-Type": "application/json"})
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 400:
            return Rejection.of(body)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("prompt_id"):
            raise HostFailure(self.url, f"/prompt answered HTTP {response.status_code}: {response.text[:200]}")
        return str(body["prompt_id"])

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished prompt's history entry, or None while it is queued or running (`{}`)."""
        body = await self._json("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    async def queue_position(self, prompt_id: str) -> tuple[QueueState, int]:
        """Where the prompt is in `/queue`, and how many prompts run or wait ahead of it."""
        body = await self._json("GET", "/queue")
        body = body if isinstance(body, dict) else {}
        ahead = 0
        for state, key in (("running", "queue_running"), ("pending", "queue_pending")):
            items = [i for i in body.get(key) or [] if isinstance(i, list) and len(i) > 1]
            if state == "pending":  # the server runs the lowest number first
                items.sort(key=lambda i: i[0] if isinstance(i[0], (int, float)) else 0)
            for item in items:
                if item[1] == prompt_id:
                    return state, ahead  # type: ignore[return-value]
                ahead += 1
        return "absent", ahead

    async def queue_state(self, prompt_id: str) -> QueueState:
        return (await self.queue_position(prompt_id))[0]

    async def withdraw(self, prompt_id: str, timeout: float = 5.0) -> None:
        """Drop our prompt from the queue if it still waits there (a running prompt is not touched)."""
        await self._call("POST", "/queue", json={"delete": [prompt_id]}, timeout=timeout)

    async def stop(self, prompt_id: str, timeout: float = 5.0) -> None:
        """Interrupt our prompt if it runs and drop it if it waits — never anyone else's."""
        await self._call("POST", "/interrupt", json={"prompt_id": prompt_id}, timeout=timeout)
        await self.withdraw(prompt_id, timeout)

    async def fetch(self, ref: dict[str, Any], out: Path, verify: Callable[[Path], object]) -> None:
        query = urlencode({"filename": ref.get("filename", ""), "subfolder": ref.get("subfolder", ""),
                           "type": ref.get("type", "output")})
        try:
            await download(self.http, f"{self.url}/view?{query}", out, provider=f"{PROVIDER} {self.url}",
                           verify=verify)
        except TransientError as exc:
            # `download` maps transport errors `from None`; the httpx error is still the context.
            if isinstance(exc.__context__, httpx.HTTPError):
                raise HostFailure(self.url, f"download of {ref.get('filename')} failed ({exc.message})") from None
            raise
