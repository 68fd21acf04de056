"""What every DashScope backend shares: endpoints per region, the API key, error mapping, HTTP calls.

Endpoints: each base URL set in config wins; otherwise the SDK's own environment overrides
(`DASHSCOPE_HTTP_BASE_URL`, `DASHSCOPE_WEBSOCKET_BASE_URL`) keep working; otherwise the region's
public URL (Beijing by default; keys are region-scoped, so the region must match the key).

Errors: the SDK never raises on HTTP errors (it returns `status_code`/`code`/`message`), and the native
HTTP API answers `{"code", "message"}` with the real status. Both go through `dashscope_error`, so the
same code means the same thing everywhere: `InvalidApiKey`/401/403 → AuthError naming the variable to
set, `Throttling*`/429/5xx → TransientError, `DataInspectionFailed` → ContentRejectedError. The key is
only ever put into request headers, never into a message, URL or log line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from s2v_tui.backends.http import (
    LoopBoundClient,
    download,
    error_for_status,
    retry_after_seconds,
    scrub_library_logs,
    transport_error,
)
from s2v_tui.config import DashScopeSettings
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError, S2VError, TransientError

PROVIDER = "dashscope"
KEY_ENV = "DASHSCOPE_API_KEY"
MODERATION_MESSAGE = "content moderation rejected this prompt: edit the shot's detail"
SCRIPT_MODERATION_MESSAGE = "content moderation rejected the script: edit the story and try again"
scrub_library_logs("dashscope", "websocket")
# The SDK and websocket-client log failures at ERROR; with no handler configured, Python would print
# them on stderr (through the TUI). s2v reports those failures itself, as errors with hints.
for _name in ("dashscope", "websocket"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Endpoints:
    http: str
    """Native API root, e.g. https://dashscope.aliyuncs.com/api/v1."""
    websocket: str
    """Streaming (CosyVoice) endpoint."""
    compatible: str
    """OpenAI-compatible root (…/compatible-mode/v1)."""


REGIONS: dict[str, Endpoints] = {
    "beijing": Endpoints("https://dashscope.aliyuncs.com/api/v1",
                         "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
                         "https://dashscope.aliyuncs.com/compatible-mode/v1"),
    "singapore": Endpoints("https://dashscope-intl.aliyuncs.com/api/v1",
                           "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference",
                           "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
    # The US WebSocket host is not documented; it follows the other regions' pattern.
    "us": Endpoints("https://dashscope-us.aliyuncs.com/api/v1",
                    "wss://dashscope-us.aliyuncs.com/api-ws/v1/inference",
                    "https://dashscope-us.aliyuncs.com/compatible-mode/v1"),
}


def endpoints(settings: DashScopeSettings) -> Endpoints:
    region = REGIONS[settings.region]
    http = (settings.http_base_url or os.environ.get("DASHSCOPE_HTTP_BASE_URL") or region.http).rstrip("/")
    ws = settings.websocket_base_url or os.environ.get("DASHSCOPE_WEBSOCKET_BASE_URL") or region.websocket
    compatible = settings.compatible_base_url
    if not compatible:
        # A redirected native root (a proxy, a test fake) carries compatible-mode next to it.
        compatible = http[: -len("/api/v1")] + "/compatible-mode/v1" if http.endswith("/api/v1") else region.compatible
    return Endpoints(http=http, websocket=ws.rstrip("/"), compatible=compatible.rstrip("/"))


def api_key(settings: DashScopeSettings) -> str:
    """The key, or an AuthError that says which variable to set."""
    key = settings.api_key.get_secret_value().strip() if settings.api_key else ""
    if not key:
        raise AuthError("no DashScope API key is configured",
                        hint=f"set {KEY_ENV} (or [dashscope] api_key in config.toml); keys are per region "
                             f"(this config uses {settings.region})")
    return key


def dashscope_error(status: int, code: str, message: str, *, retry_after: float | None = None) -> S2VError:
    """The error for a DashScope failure, from an HTTP answer, an SDK response or a task result."""
    code = code or ""
    if "DataInspectionFailed" in code or code == "data_inspection_failed":
        return ContentRejectedError(MODERATION_MESSAGE, hint=f"DashScope said: {message}" if message else None)
    if code in ("InvalidApiKey", "invalid_api_key"):
        return AuthError(f"DashScope rejected the API key ({code})",
                         hint=f"set a valid {KEY_ENV}; keys only work in the region they were created in")
    if code.startswith("AccessDenied"):
        return AuthError(f"DashScope: {code}: {message}",
                         hint=f"check that {KEY_ENV} belongs to this region and that the model is activated "
                              "for your account in the DashScope console")
    if code == "Arrearage":
        return BackendError("DashScope: the account is overdue (Arrearage)", hint="top up the DashScope account")
    return error_for_status("DashScope", status, message, code=code, key_env=KEY_ENV, retry_after=retry_after)


def sdk_error(response: Any) -> S2VError | None:
    """None for a successful SDK response, else the mapped error."""
    status = int(getattr(response, "status_code", 0) or 0)
    if status == 200:
        return None
    return dashscope_error(status or 500, str(getattr(response, "code", "") or ""),
                           str(getattr(response, "message", "") or "no message"))


def sdk_transport_error(exc: BaseException, what: str) -> TransientError:
    """A connection problem inside the SDK (requests / websocket-client): retryable, key-free message."""
    kind = "timed out" if "timeout" in type(exc).__name__.lower() else "could not be reached"
    return TransientError(f"DashScope {what} {kind}: {type(exc).__name__}",
                          hint="check the network, the region and the DashScope base URLs in config")


class DashScopeHttp:
    """The native HTTP API with httpx: JSON calls (Bearer auth) and unauthenticated result downloads."""

    def __init__(self, settings: DashScopeSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.base = endpoints(settings).http
        timeout = httpx.Timeout(settings.request_timeout, connect=min(10.0, settings.request_timeout))
        self._clients = LoopBoundClient(lambda: client or httpx.AsyncClient(timeout=timeout, follow_redirects=True))

    def _headers(self, *, async_task: bool, oss_resolve: bool) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {api_key(self.settings)}", "Accept": "application/json"}
        if async_task:
            headers["X-DashScope-Async"] = "enable"
        if oss_resolve:  # the input references a temporary oss:// upload
            headers["X-DashScope-OssResourceResolve"] = "enable"
        return headers

    async def call(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None, async_task: bool = False,
                   oss_resolve: bool = False) -> dict[str, Any]:
        url = f"{self.base}/{path.lstrip('/')}"
        headers = self._headers(async_task=async_task, oss_resolve=oss_resolve)
        try:
            response = await self._clients.get().request(method, url, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_error("DashScope", url, exc) from None
        return checked(response)

    async def download(self, url: str, out: Path, verify: Callable[[Path], object]) -> None:
        # No Authorization header: result links are presigned and live on another host.
        try:
            await download(self._clients.get(), url, out, provider="DashScope", verify=verify)
        except AuthError as exc:  # a 401/403 from the result host means the link expired, not a bad key
            raise BackendError(f"the result link was refused ({exc.message})",
                               hint="result links expire after 24 h; regenerate the shot") from None

    @property
    def client(self) -> httpx.AsyncClient:
        return self._clients.get()

    async def aclose(self) -> None:
        await self._clients.aclose()


def checked(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 2xx DashScope answer, or the mapped error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        info = body if isinstance(body, dict) else {}
        raise dashscope_error(response.status_code, str(info.get("code") or ""),
                              str(info.get("message") or info.get("msg") or response.reason_phrase),
                              retry_after=retry_after_seconds(response.headers.get("retry-after")))
    if not isinstance(body, dict):
        raise TransientError("DashScope answered with something that is not JSON")
    return body
