"""Request bodies as the original service's clients send them.

The original README's `curl -d "{\\n    \\"operation_id\\": …}"` examples put a literal backslash-n
between the JSON tokens (shell double quotes keep `\\n` as two characters), and one of them carries a
stray `+` at the start of a line (a diff marker pasted into the README). FastAPI's strict parser
rejects both, so the original README's own requests would fail. `tolerant_json` repairs exactly
those two artefacts — outside strings only — and nothing else: a truncated or otherwise broken body is
still refused with a 422, never "repaired" into a different request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

_ESCAPES_AS_SPACE = {"n", "r", "t"}


def tolerant_json(raw: bytes) -> bytes:
    """`raw` if it is valid JSON; else `raw` with literal `\\n`/`\\r`/`\\t` and line-leading `+`
    between tokens turned into spaces, if that makes it valid JSON; else `raw` unchanged."""
    try:
        json.loads(raw)
        return raw
    except ValueError:
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    out: list[str] = []
    in_string = escaped = False
    line_start = True
    index = 0
    while index < len(text):
        ch = text[index]
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "\\" and text[index + 1:index + 2] in _ESCAPES_AS_SPACE:
            out.append(" ")
            index += 1
            line_start = True
        elif ch == "+" and line_start:
            out.append(" ")
        else:
            out.append(ch)
            if ch == '"':
                in_string = True
            if ch in "\r\n":
                line_start = True
            elif not ch.isspace():
                line_start = False
        index += 1
    repaired = "".join(out).encode("utf-8")
    try:
        json.loads(repaired)
    except ValueError:
        return raw
    return repaired


class TolerantJSONRequest(Request):
    """A request whose body is read at most up to `[serve] max_body_bytes` (413 beyond, whatever the
    Content-Length says) and passed through `tolerant_json`."""

    async def body(self) -> bytes:
        if not hasattr(self, "_tolerant_body"):
            limit = self.app.state.settings.serve.max_body_bytes
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            self._tolerant_body = tolerant_json(b"".join(chunks))
        return self._tolerant_body


def _too_large(limit: int) -> HTTPException:
    # An HTTPException, because FastAPI turns any other error raised while reading a body into a 400.
    return HTTPException(413, f"the request body is larger than {limit} bytes (a story is at most 20 000 "
                              "characters; [serve] max_body_bytes sets the limit)")


class TolerantJSONRoute(APIRoute):
    """Routes whose JSON bodies pass through `tolerant_json` (the OpenAPI schema is unchanged)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tolerant_handler(request: Request) -> Response:
            return await handler(TolerantJSONRequest(request.scope, request.receive))

        return tolerant_handler
