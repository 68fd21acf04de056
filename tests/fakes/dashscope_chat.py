"""Chat routes of `DashScopeFake` (mixin): native Qwen generation and the OpenAI-compatible endpoint.

Both consume `fake.llm_responses` (else `fake.default_llm(messages)`), enforce the JSON-mode rule (a message
must mention "json"), record `fake.chat_calls`, and stream when asked (native: `X-DashScope-SSE: enable`
framing `id:/event:result/:HTTP_STATUS/200/data:`; compatible: `data: {chunk}` lines ending `data: [DONE]`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes import dashscope_rules as R


class ChatRoutes:
    """Mixed into DashScopeFake; these are the host's members it uses."""

    _prelude: Callable[[web.Request], Awaitable[tuple[dict[str, Any], web.Response | None]]]
    _authorized: Callable[[web.Request], bool]
    _next_reply: Callable[[str, str, list[Any], dict[str, Any]], str]

    async def _generation(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._prelude(request)
        if err is not None:
            return err
        inp, params = body.get("input") or {}, body.get("parameters") or {}
        messages = inp.get("messages")
        if messages is None and isinstance(inp.get("prompt"), str):
            messages = [{"role": "user", "content": inp["prompt"]}]
        if not isinstance(messages, list) or not messages:
            return R.ds_error(400, "InvalidParameter", "Field required: input.messages")
        if (params.get("response_format") or {}).get("type") == "json_object" and not R.mentions_json(messages):
            return R.ds_error(400, "InvalidParameter", R.JSON_WORD_MESSAGE)
        content = self._next_reply("native", body["model"], messages, params)
        usage_in = sum(R.approx_tokens(R.message_text(m.get("content"))) for m in messages if isinstance(m, dict))

        def envelope(text: str, finish: str) -> dict[str, Any]:
            if params.get("result_format") == "message":
                output: dict[str, Any] = {"choices": [{"finish_reason": finish,
                                                       "message": {"role": "assistant", "content": text}}]}
            else:
                output = {"text": text, "finish_reason": finish}
            out_tokens = R.approx_tokens(text)
            return {"request_id": rid, "output": output, "usage": {
                "input_tokens": usage_in, "output_tokens": out_tokens, "total_tokens": usage_in + out_tokens}}

        rid = R.request_id()
        if request.headers.get("X-DashScope-SSE", "").lower() != "enable":
            return web.json_response(envelope(content, "stop"))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8"})
        await resp.prepare(request)
        half = len(content) // 2
        pieces = [content[:half], content[half:]]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            text = piece if params.get("incremental_output") else content[: half if not last else len(content)]
            data = json.dumps(envelope(text, "stop" if last else "null"), ensure_ascii=False)
            await resp.write(f"id:{i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n".encode())
        await resp.write_eof()
        return resp

    async def _compatible(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return R.openai_error(401, "invalid_api_key", "Incorrect API key provided. ")
        try:
            body = json.loads(await request.read() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not body.get("model"):
            return R.openai_error(400, "invalid_parameter_error", "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return R.openai_error(400, "invalid_parameter_error", "messages must be a non-empty list")
        if (body.get("response_format") or {}).get("type") == "json_object" and not R.mentions_json(messages):
            return R.openai_error(400, "invalid_parameter_error", R.JSON_WORD_MESSAGE)
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        content = self._next_reply("compatible", body["model"], messages, params)
        p_tok = sum(R.approx_tokens(R.message_text(m.get("content"))) for m in messages if isinstance(m, dict))
        c_tok = R.approx_tokens(content)
        usage = {"prompt_tokens": p_tok, "completion_tokens": c_tok, "total_tokens": p_tok + c_tok}
        base = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()), "model": body["model"],
                "system_fingerprint": None}
        if not body.get("stream"):
            return web.json_response({**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                 "logprobs": None}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8"})
        await resp.prepare(request)
        chunks = [({"role": "assistant", "content": ""}, None), ({"content": content}, None), ({}, "stop")]
        for delta, finish in chunks:
            chunk = {**base, "object": "chat.completion.chunk", "usage": None,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
            await resp.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        if (body.get("stream_options") or {}).get("include_usage"):
            tail = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            await resp.write(f"data: {json.dumps(tail)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
