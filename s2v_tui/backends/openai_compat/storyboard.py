"""Storyboards from any OpenAI-compatible chat endpoint: `POST {base_url}/chat/completions` with httpx.

JSON mode is asked for with `response_format={"type": "json_object"}` (DashScope, vLLM, DeepSeek and
OpenAI all accept it; the prompt also says "json", which DashScope requires). The base URL decides
who is called. When `[openai_compat] base_url` is not set, it is DashScope's compatible-mode endpoint
for the configured region, called with the DashScope key; a local server (vLLM) needs no key at all.
"""

from __future__ import annotations

from typing import Any

import httpx

from s2v_tui.backends.base import BackendInfo, StageContext
from s2v_tui.backends.dashscope.client import KEY_ENV as DASHSCOPE_KEY_ENV
from s2v_tui.backends.dashscope.client import SCRIPT_MODERATION_MESSAGE
from s2v_tui.backends.dashscope.client import endpoints as dashscope_endpoints
from s2v_tui.backends.http import LoopBoundClient, checked_json, transport_error
from s2v_tui.backends.llm_storyboard import Completion, LLMStoryboard
from s2v_tui.config import Settings
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError

KEY_ENV = "S2V_OPENAI_COMPAT__API_KEY"
TIMEOUT = httpx.Timeout(180.0, connect=10.0)
"""A whole storyboard comes back in one answer; slow servers need minutes."""
TEMPERATURE = 0.7


def is_dashscope(url: str) -> bool:
    host = httpx.URL(url).host
    return host.endswith("aliyuncs.com")


class OpenAICompatStoryboard(LLMStoryboard):
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        compat = settings.openai_compat
        explicit_url = "base_url" in compat.model_fields_set
        base_url = compat.base_url if explicit_url else dashscope_endpoints(settings.dashscope).compatible
        self.base_url = base_url.rstrip("/")
        self.model = compat.model
        key = compat.api_key
        self.key_env = KEY_ENV
        if key is None and (not explicit_url or is_dashscope(self.base_url)):
            key, self.key_env = settings.dashscope.api_key, DASHSCOPE_KEY_ENV
        self._key = key.get_secret_value().strip() if key else ""
        self._needs_key = not explicit_url or is_dashscope(self.base_url)
        self.provider = "dashscope" if self.key_env == DASHSCOPE_KEY_ENV else "openai_compat"
        self._clients = LoopBoundClient(lambda: client or httpx.AsyncClient(timeout=TIMEOUT))
        self.info = BackendInfo(name="openai_compat", model=self.model, lane="llm",
                                paid_provider=self.provider if self._key else None,
                                params={"base_url": self.base_url, "temperature": TEMPERATURE})

    @property
    def uses_dashscope_key(self) -> bool:
        """Calls DashScope's compatible mode with DASHSCOPE_API_KEY (no key of its own configured)."""
        return self.key_env == DASHSCOPE_KEY_ENV

    def _headers(self) -> dict[str, str]:
        if not self._key:
            if self._needs_key:
                raise AuthError(f"no API key for {self.base_url}", hint=f"set {self.key_env}")
            return {}
        return {"Authorization": f"Bearer {self._key}"}

    async def complete(self, messages: list[dict[str, str]], ctx: StageContext) -> Completion:
        url = f"{self.base_url}/chat/completions"
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": TEMPERATURE,
                                "response_format": {"type": "json_object"}, "stream": False}
        try:
            response = await self._clients.get().post(url, json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            raise transport_error("LLM", url, exc) from None
        if response.status_code == 400 and "data_inspection" in response.text:
            raise ContentRejectedError(SCRIPT_MODERATION_MESSAGE,
                                       hint=f"{self.model} refused it (data_inspection_failed)")
        answer = await checked_json(self.model, response, key_env=self.key_env)
        if self._key:
            ctx.count_paid_call(self.provider)
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"{self.model} at {httpx.URL(url).host} answered without a message") from None
        return Completion(text=str(text), truncated=choice.get("finish_reason") == "length")

    async def aclose(self) -> None:
        await self._clients.aclose()


def create(settings: Settings) -> OpenAICompatStoryboard:
    return OpenAICompatStoryboard(settings)
