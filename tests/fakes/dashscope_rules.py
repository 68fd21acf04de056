"""Rules and helpers for the DashScope fake: error bodies, model limits, media checks, the default LLM.

Kept apart from `dashscope.py` so the server module stays about routing and state. Everything here is
pure (no server state) and can be unit-tested or reused by other fakes.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import io
import json
import re
import uuid
import zlib
from typing import Any

from aiohttp import web
from PIL import Image

QWEN_IMAGE_SIZES = ("1664*928", "1472*1140", "1328*1328", "1140*1472", "928*1664")
"""The only sizes qwen-image / qwen-image-plus accept (default 1328*1328)."""

CAMERAS = (
    "垂直升降拍摄", "水平横移拍摄", "镜头推进", "镜头后退", "仰视或俯视调整", "绕轴横向左旋转",
    "绕轴横向右旋转", "围绕主体拍摄", "全方位环绕", "锁定主体移动", "固定机位",
)
"""The 11 camera labels the storyboard prompt allows."""

TONES = ("平静", "紧张", "兴奋", "温柔", "坚定", "悲伤")

RESOLUTIONS = {"480P": (848, 480), "720P": (1280, 720), "1080P": (1920, 1080)}
"""Nominal landscape output size per i2v `resolution` (portrait swaps the pair)."""

JSON_WORD_MESSAGE = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."
)
URL_ERROR_MESSAGE = "url error, please check url！"  # the real service's wording, full-width "！"


# -- error bodies -------------------------------------------------------------------------------
def request_id() -> str:
    return str(uuid.uuid4())


def ds_error(status: int, code: str, message: str) -> web.Response:
    """A native DashScope error: `{"request_id","code","message"}` with the real HTTP status."""
    return web.json_response({"request_id": request_id(), "code": code, "message": message}, status=status)


def openai_error(status: int, code: str, message: str, type_: str = "invalid_request_error") -> web.Response:
    """A compatible-mode error in the OpenAI shape."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}, "request_id": request_id()}
    return web.json_response(body, status=status)


def oss_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    """An OSS-style XML error (used by the upload host and the result-file host)."""
    rid = uuid.uuid4().hex[:24].upper()
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in {"Code": code, "Message": message, "RequestId": rid,
                                                     "HostId": "fake-oss.local", **extra}.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{fields}</Error>'
    return web.Response(status=status, text=body, content_type="application/xml", headers={"x-oss-request-id": rid})


# -- messages -----------------------------------------------------------------------------------
def message_text(content: Any) -> str:
    """The text of a message `content`: a string, or a list of `{"text": ...}` parts (VL / qwen-image)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return ""


def mentions_json(messages: list[Any]) -> bool:
    """The JSON-mode rule: some message must contain the word "json" (any case)."""
    return any(
        "json" in message_text(m.get("content")).lower() for m in messages if isinstance(m, dict)
    )


def last_user_text(messages: list[Any]) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role", "user") == "user":
            return message_text(m.get("content"))
    return ""


def approx_tokens(text: str) -> int:
    return max(1, len(text) // 2)


def default_llm(messages: list[Any]) -> str:
    """A deterministic, VALID 6-shot storyboard JSON built from the last user message."""
    text = last_user_text(messages)
    text = re.sub(r"^\s*style:[^:\n]*:", "", text)  # the app prefixes "style:<style>:" to the script
    frags = [f.strip() for f in re.split(r"[。！？!?；;\n]+|\.\s", text) if f.strip()] or ["一个安静的小镇清晨"]
    seed = zlib.crc32(text.encode("utf-8"))
    shots = []
    for i in range(6):
        frag = frags[i % len(frags)]
        shots.append({
            "sequence": i + 1,
            "subject": frag[:12],
            "detail": f"{frag}。第{i + 1}幕，光线柔和，构图清晰，画面细节丰富",
            "narration": frag[:30],
            "camera": CAMERAS[(seed + i) % len(CAMERAS)],
            "tone": TONES[(seed + i) % len(TONES)],
        })
    return json.dumps({"shots": shots}, ensure_ascii=False)


# -- images -------------------------------------------------------------------------------------
def parse_size(size: Any) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)\*(\d+)", str(size))
    return (int(m.group(1)), int(m.group(2))) if m else None


def image_family(model: str) -> str | None:
    """"qwen-image" (5 fixed sizes), "qwen-image-free" (2.0/max: any W*H, sync only), "wan-t2i", or None."""
    if re.fullmatch(r"qwen-image(-plus)?(-\d{4}-\d{2}-\d{2})?", model):
        return "qwen-image"
    if model.startswith("qwen-image-"):
        return "qwen-image-free"
    if re.match(r"wanx?2\.\d+-t2i", model):
        return "wan-t2i"
    return None


def image_size_error(family: str, size: str) -> str | None:
    """None if `size` is allowed for the model family, else the error message."""
    if family == "qwen-image":
        return None if size in QWEN_IMAGE_SIZES else (
            f"The size is not match the allowed size {list(QWEN_IMAGE_SIZES)}")
    wh = parse_size(size)
    if wh is None:
        return f"The size {size!r} is illegal, it should be like 1024*1024."
    w, h = wh
    if family == "wan-t2i" and not (512 <= w <= 1440 and 512 <= h <= 1440):
        return f"The size {size} is illegal, width and height must be in [512, 1440]."
    if family == "qwen-image-free" and not (512 * 512 <= w * h <= 2048 * 2048):
        return f"The size {size} is illegal, total pixels must be in [512*512, 2048*2048]."
    return None


MAX_IMAGES = {"qwen-image": 1, "wan-t2i": 4, "qwen-image-free": 6}
"""Largest `parameters.n` per image family."""


def default_image_size(family: str) -> str:
    return "1328*1328" if family == "qwen-image" else "1024*1024"


def image_dims(data: bytes) -> tuple[int, int] | None:
    """(width, height) if `data` fully decodes as an image, else None (truncated files fail here)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.size
    except Exception:
        return None


def decode_data_uri(uri: str) -> bytes | None:
    m = re.fullmatch(r"data:image/[\w.+-]+;base64,(.*)", uri, flags=re.S)
    if not m:
        return None
    try:
        return base64.b64decode(m.group(1), validate=True)
    except (binascii.Error, ValueError):
        return None


# -- video --------------------------------------------------------------------------------------
def video_durations(model: str) -> set[int] | None:
    """Allowed `parameters.duration` values per wan model family; None for an unknown model."""
    if model.startswith("wan2.6"):
        return {5, 10, 15}
    if model.startswith("wan2.5"):
        return {5, 10}
    if model.startswith(("wan2.2", "wanx2.1")):
        return {5}
    return None


def default_resolution(model: str) -> str:
    return "1080P" if model.startswith("wan2.2-i2v-plus") else "720P"


# -- multipart (the upload host) ----------------------------------------------------------------
def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """Form fields of a multipart body (the harness middleware already consumed the stream)."""
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, bytes] = {}
    if not msg.is_multipart():
        return fields
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = part.get_payload(decode=True) or b""
    return fields
