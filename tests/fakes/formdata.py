"""Form parsing for fakes whose harness middleware already consumed the request stream.

`aiohttp`'s `request.post()` re-reads the payload stream for multipart bodies, which the recording
middleware has drained, so multipart bodies are parsed from the cached bytes here.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class FormField:
    value: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "replace")


async def read_form(request: web.Request) -> dict[str, FormField]:
    """Fields of a multipart/form-data or application/x-www-form-urlencoded body (first value wins)."""
    body = await request.read()
    ctype = request.headers.get("Content-Type", "")
    fields: dict[str, FormField] = {}
    if ctype.startswith("application/x-www-form-urlencoded"):
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(key, FormField(value.encode("utf-8")))
        return fields
    if not ctype.startswith("multipart/form-data"):
        return fields
    raw = b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not msg.is_multipart():
        return fields
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and str(name) not in fields:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = FormField(payload, part.get_filename(), part.get_content_type()
                                          if part.get("Content-Type") else None)
    return fields
