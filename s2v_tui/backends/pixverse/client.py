"""The PixVerse platform API over httpx: headers, the `{ErrCode, ErrMsg, Resp}` envelope, error codes.

Every request carries `API-KEY` and an `Ai-trace-id`. PixVerse treats a repeated trace id as "the same
request" and answers with the earlier result, so the generate call sends a trace id that was persisted
beforehand (an idempotency key); uploads and polls send fresh ones. Business errors arrive as HTTP 200
with `ErrCode != 0` (and sometimes as 4xx/5xx with the same envelope), so both are checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from s2v_tui.backends.http import LoopBoundClient, download, error_for_status, retry_after_seconds, transport_error
from s2v_tui.config import PixVerseSettings
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError, S2VError, TransientError

PROVIDER = "pixverse"
KEY_ENV = "PIXVERSE_API_KEY"
MODERATION_MESSAGE = "content moderation rejected this prompt: edit the shot's detail"
CONCURRENCY_LIMIT = 500044
TRANSIENT_CODES = {CONCURRENCY_LIMIT: "concurrent-generation limit reached", 500069: "system under high load",
                   500100: "database error", 99999: "unknown error"}
MODERATION_CODES = {500054, 500063}
AUTH_CODES = {400012, 500020, 10005}
"""Invalid account, no permission, and 10005 "API key is invalid" (not in the published table; HTTP 401/403 too)."""
NOT_FOUND = 500008


def pixverse_error(code: int, message: str, *, status: int = 200, retry_after: float | None = None) -> S2VError:
    """The error for a non-zero ErrCode (or an HTTP error without one)."""
    if code in TRANSIENT_CODES:
        hint = "lower [pixverse] max_concurrency (PIXVERSE_MAX_CONCURRENCY) to your plan's limit" \
            if code == CONCURRENCY_LIMIT else None
        return TransientError(f"PixVerse: {TRANSIENT_CODES[code]} ({code})", hint=hint, retry_after=retry_after)
    if code in MODERATION_CODES:
        return ContentRejectedError(MODERATION_MESSAGE, hint=f"PixVerse said: {message} ({code})")
    if code in AUTH_CODES or status in (401, 403):
        return AuthError(f"PixVerse refused the request: {message or status}", hint=f"set a valid {KEY_ENV}")
    if code == 500090:
        return BackendError("PixVerse: insufficient balance (500090)", hint="top up the PixVerse account")
    if code:
        return BackendError(f"PixVerse error {code}: {message}")
    return error_for_status("PixVerse", status, message, key_env=KEY_ENV, retry_after=retry_after)


class PixVerseClient:
    def __init__(self, settings: PixVerseSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.base = settings.base_url.rstrip("/") + "/openapi/v2"
        timeout = httpx.Timeout(60.0, connect=10.0)
        self._clients = LoopBoundClient(lambda: client or httpx.AsyncClient(timeout=timeout, follow_redirects=True))

    def _headers(self, trace_id: str | None) -> dict[str, str]:
        key = self.settings.api_key.get_secret_value().strip() if self.settings.api_key else ""
        if not key:
            raise AuthError("no PixVerse API key is configured", hint=f"set {KEY_ENV} (or [pixverse] api_key)")
        return {"API-KEY": key, "Ai-trace-id": trace_id or str(uuid.uuid4())}

    async def call(self, method: str, path: str, *, trace_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """`Resp` of a successful call; raises the mapped error otherwise."""
        url = f"{self.base}/{path.lstrip('/')}"
        headers = self._headers(trace_id)
        try:
            response = await self._clients.get().request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error("PixVerse", url, exc) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        envelope = body if isinstance(body, dict) and "ErrCode" in body else None
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if envelope is None:
            if response.status_code >= 400:
                raise pixverse_error(0, response.reason_phrase, status=response.status_code, retry_after=retry_after)
            raise TransientError("PixVerse answered without its {ErrCode, ErrMsg, Resp} envelope")
        try:
            code = int(envelope.get("ErrCode") or 0)
        except (TypeError, ValueError):
            code = 99999
        if code != 0 or response.status_code >= 400:
            error = pixverse_error(code, str(envelope.get("ErrMsg") or ""), status=response.status_code,
                                   retry_after=retry_after)
            error.err_code = code  # type: ignore[attr-defined]  # a definite answer: nothing was created
            raise error
        resp = envelope.get("Resp")
        return resp if isinstance(resp, dict) else {}

    async def upload_image(self, path: Path) -> int:
        data = path.read_bytes()
        mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
        resp = await self.call("POST", "image/upload", files={"image": (path.name, data, mime)})
        try:
            return int(resp["img_id"])
        except (KeyError, TypeError, ValueError):
            raise BackendError("PixVerse accepted the image upload but returned no img_id") from None

    async def download(self, url: str, out: Path, verify: Callable[[Path], object]) -> None:
        await download(self._clients.get(), url, out, provider="PixVerse", verify=verify)

    async def aclose(self) -> None:
        await self._clients.aclose()
