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

from fastapi import Request, Response
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
    async def body(self) -> bytes:
        if not hasattr(self, "_tolerant_body"):
            self._tolerant_body = tolerant_json(await super().body())
        return self._tolerant_body


class TolerantJSONRoute(APIRoute):
    """Routes whose JSON bodies pass through `tolerant_json` (the OpenAPI schema is unchanged)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tolerant_handler(request: Request) -> Response:
            return await handler(TolerantJSONRequest(request.scope, request.receive))

        return tolerant_handler
