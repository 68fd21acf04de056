"""The HTTP API of one ComfyUI host: health, upload, queue, history, queue state, view, interrupt.

Nothing assumes a shared filesystem: the keyframe goes up with `/upload/image` and results come back
through `/view`, so hosts can be other machines. A host that cannot be reached or answers 5xx raises
`HostFailure` (the pool fails the job over to another host); a 400 from `/prompt` is the workflow's
fault and becomes a `BackendError` naming the node, the input and the host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from s2v_tui.backends.http import download
from s2v_tui.domain.errors import BackendError, TransientError

PROVIDER = "ComfyUI"


class HostFailure(TransientError):
    """This host failed (unreachable, 5xx, stalled, restarted): the job can be retried on another host."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"ComfyUI host {host}: {message}",
                         hint="check that ComfyUI is running there; other hosts in COMFY_HOSTS_LIST are tried")
        self.host = host
        self.reason = message


def validation_error(host: str, body: Any, workflow: str) -> BackendError:
    """The message for a 400 from `/prompt`: each failing node with its input, value and the host."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    problems: list[str] = []
    for node_id, entry in (body.get("node_errors") or {}).items():
        for item in (entry.get("errors") or [])[:3]:
            extra = item.get("extra_info") or {}
            name, value = extra.get("input_name"), extra.get("received_value")
            if item.get("type") == "value_not_in_list" and name:
                text = f"{name} {value!r} not in list"
            else:
                text = str(item.get("details") or item.get("message") or item.get("type"))
                text = text if not name or name in text else f"{name}: {text}"
            problems.append(f"node {node_id} ({entry.get('class_type', '?')}): {text}")
    if not problems:
        detail = error.get("details") or ""
        problems.append(f"{error.get('message') or error.get('type') or 'invalid workflow'}"
                        + (f": {detail}" if detail else ""))
    return BackendError(f"ComfyUI rejected the workflow: {'; '.join(problems)} on host {host}",
                        hint=f"install the missing model/node on that host or edit {workflow}")


class ComfyHost:
    """One ComfyUI server, addressed by its base URL (e.g. http://gpu-box:8188)."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url.rstrip("/")
        self.http = http

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
        if not isinstance(body, dict) or "system" not in body:
            raise HostFailure(self.url, "/system_stats does not look like ComfyUI")
        return body

    async def upload_image(self, path: Path, name: str) -> str:
        """Upload a file for LoadImage; returns the name to put in its `image` input."""
        mime = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "image/png"
        files = {"image": (name, path.read_bytes(), mime)}
        body = await self._json("POST", "/upload/image", files=files, data={"type": "input", "overwrite": "true"})
        if not isinstance(body, dict) or not body.get("name"):
            raise HostFailure(self.url, f"/upload/image answered {str(body)[:200]}")
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else str(body["name"])

    async def queue_prompt(self, graph: dict[str, Any], client_id: str, prompt_id: str, workflow: str) -> str:
        response = await self._call("POST", "/prompt", content=json.dumps(
            {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}),
            headers={"Content-Type": "application/json"})
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 400:
            raise validation_error(self.url, body, workflow)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("prompt_id"):
            raise HostFailure(self.url, f"/prompt answered HTTP {response.status_code}: {response.text[:200]}")
        return str(body["prompt_id"])

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished prompt's history entry, or None while it is queued or running (`{}`)."""
        body = await self._json("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    async def queue_state(self, prompt_id: str) -> Literal["running", "pending", "absent"]:
        body = await self._json("GET", "/queue")
        for state, key in (("running", "queue_running"), ("pending", "queue_pending")):
            items = body.get(key) if isinstance(body, dict) else None
            for item in items or []:
                if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
                    return state  # type: ignore[return-value]
        return "absent"

    async def stop(self, prompt_id: str, timeout: float = 5.0) -> None:
        """Interrupt our prompt if it runs and drop it if it waits — never anyone else's."""
        await self._call("POST", "/interrupt", json={"prompt_id": prompt_id}, timeout=timeout)
        await self._call("POST", "/queue", json={"delete": [prompt_id]}, timeout=timeout)

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
