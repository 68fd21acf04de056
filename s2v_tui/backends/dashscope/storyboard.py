"""Storyboards from DashScope Qwen (`qwen-plus` by default) through the `dashscope` SDK.

One `Generation.call` per round in JSON mode (`response_format=json_object`; the prompt says "json",
which the API requires). The SDK is synchronous, so it runs in a worker thread; the key and base URL
go per call (`api_key=`, `base_address=`), never through module globals another backend might change.
Validation, repair and re-asking live in `LLMStoryboard`.
"""

from __future__ import annotations

import asyncio

from s2v_tui.backends.base import BackendInfo, StageContext
from s2v_tui.backends.dashscope.client import (
    PROVIDER,
    SCRIPT_MODERATION_MESSAGE,
    api_key,
    endpoints,
    sdk_error,
    sdk_transport_error,
)
from s2v_tui.backends.llm_storyboard import Completion, LLMStoryboard
from s2v_tui.config import DashScopeSettings, Settings
from s2v_tui.domain.errors import BackendError, ContentRejectedError

TEMPERATURE = 0.7
LLM_TIMEOUT_FACTOR = 3
"""A whole storyboard comes back in one answer, which takes longer than a typical request."""


class DashScopeStoryboard(LLMStoryboard):
    def __init__(self, settings: DashScopeSettings) -> None:
        self.settings = settings
        self.info = BackendInfo(name="dashscope", model=settings.llm_model, lane="llm", paid_provider=PROVIDER,
                                params={"temperature": TEMPERATURE})

    async def complete(self, messages: list[dict[str, str]], ctx: StageContext) -> Completion:
        key = api_key(self.settings)
        base = endpoints(self.settings).http
        response = await asyncio.to_thread(self._call, messages, key, base)
        if (error := sdk_error(response)) is not None:
            if isinstance(error, ContentRejectedError):  # the shot-level wording would mislead here
                raise ContentRejectedError(SCRIPT_MODERATION_MESSAGE, hint=error.hint) from None
            raise error
        ctx.count_paid_call(PROVIDER)
        try:
            choice = response.output.choices[0]
            content = choice.message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            raise BackendError(f"{self.settings.llm_model} answered without a message") from None
        text = content if isinstance(content, str) else "".join(
            str(part.get("text", "")) for part in content or [] if isinstance(part, dict))
        return Completion(text=text, truncated=choice.finish_reason == "length")

    def _call(self, messages: list[dict[str, str]], key: str, base: str):  # type: ignore[no-untyped-def]
        from dashscope import Generation
        from requests.exceptions import RequestException

        try:
            return Generation.call(model=self.settings.llm_model, messages=messages, api_key=key,
                                   base_address=base, result_format="message", temperature=TEMPERATURE,
                                   response_format={"type": "json_object"}, enable_thinking=False,
                                   request_timeout=self.settings.request_timeout * LLM_TIMEOUT_FACTOR)
        except RequestException as exc:
            raise sdk_transport_error(exc, "text generation") from None


def create(settings: Settings) -> DashScopeStoryboard:
    return DashScopeStoryboard(settings.dashscope)
