"""Storyboards from a local Ollama: `POST {url}/api/chat`, `stream: false`, the storyboard JSON schema as `format`.

With a schema in `format` Ollama constrains decoding to it, so most answers parse on the first try;
`LLMStoryboard` still validates and re-asks. The seed posted to `/api/generate` and kept that path in
`OLLAMA_URL`; such URLs are accepted and reduced to the server address. Errors arrive as
`{"error": "..."}`; a missing model (404) says which `ollama pull` fixes it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from s2v_tui.backends.base import BackendInfo, StageContext
from s2v_tui.backends.http import LoopBoundClient, error_for_status, retry_after_seconds
from s2v_tui.backends.llm_storyboard import STORYBOARD_SCHEMA, Completion, LLMStoryboard
from s2v_tui.config import OllamaSettings, Settings
from s2v_tui.domain.errors import BackendError, TransientError

API_SUFFIXES = ("/api/generate", "/api/chat", "/api")
THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
"""Older Ollama builds leave a thinking model's reasoning inline in `content`."""


def server_url(url: str) -> str:
    """The server address from OLLAMA_URL, which may carry the seed's `/api/generate` path."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    for suffix in API_SUFFIXES:
        if url.endswith(suffix):
            return url[: -len(suffix)].rstrip("/")
    return url


class OllamaStoryboard(LLMStoryboard):
    def __init__(self, settings: OllamaSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.url = server_url(settings.url)
        self._clients = LoopBoundClient(
            lambda: client or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout, connect=10.0)))
        self.info = BackendInfo(name="ollama", model=settings.model, lane="ollama",
                                params={"temperature": settings.temperature, "num_ctx": settings.num_ctx,
                                        "think": settings.think})

    def _body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.settings.model, "messages": messages, "stream": False,
                                "format": STORYBOARD_SCHEMA,
                                "options": {"temperature": self.settings.temperature,
                                            "num_ctx": self.settings.num_ctx}}
        if self.settings.think is not None:
            body["think"] = self.settings.think
        return body

    async def complete(self, messages: list[dict[str, str]], ctx: StageContext) -> Completion:
        endpoint = f"{self.url}/api/chat"
        try:
            response = await self._clients.get().post(endpoint, json=self._body(messages))
        except httpx.HTTPError as exc:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
            raise TransientError(f"Ollama at {self.url} {kind} ({type(exc).__name__})",
                                 hint="start it with `ollama serve`, or set OLLAMA_URL to where it runs") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code == 404 or (error and "not found" in str(error) and "model" in str(error)):
            raise BackendError(f"Ollama at {self.url} does not have the model {self.settings.model!r}"
                               + (f" ({error})" if error else ""),
                               hint=f"run `ollama pull {self.settings.model}` on that machine, "
                                    "or set [ollama] model to one that `ollama list` shows")
        if response.status_code >= 400 or error:
            message = str(error or response.text[:200] or response.reason_phrase)
            status = response.status_code if response.status_code >= 400 else 500
            raise error_for_status("Ollama", status, message,
                                   retry_after=retry_after_seconds(response.headers.get("retry-after")))
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise TransientError(f"Ollama at {self.url} answered without a message: {response.text[:200]}")
        text = THINK_BLOCK.sub("", message["content"]).strip()
        return Completion(text=text, truncated=body.get("done_reason") == "length")

    async def aclose(self) -> None:
        await self._clients.aclose()


def create(settings: Settings) -> OllamaStoryboard:
    return OllamaStoryboard(settings.ollama)
