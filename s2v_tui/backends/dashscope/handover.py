"""How a keyframe reaches Wan i2v (`[dashscope] image_handover`).

- "data_uri": the image inline as `data:image/png;base64,…` (no storage needed; fine for keyframes,
  which are far below the 10 MB limit);
- "upload": DashScope's temporary storage (protocols.md §3.3): getPolicy → multipart POST to the upload
  host → `oss://key`, sent with `X-DashScope-OssResourceResolve`. Beijing only; the object expires in 48 h;
- "oss": the user's own bucket (`backends.oss`), as a presigned GET link signed for this submit only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from s2v_tui.backends.dashscope.client import DashScopeHttp
from s2v_tui.backends.http import transport_error
from s2v_tui.backends.oss import OssUploader
from s2v_tui.config import Settings
from s2v_tui.domain.errors import BackendError, TransientError


@dataclass(frozen=True)
class ImageRef:
    url: str
    oss_resolve: bool = False
    """The URL is a DashScope temporary `oss://` object (the submit needs the resolve header)."""


def mime_of(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


class KeyframeHandover:
    def __init__(self, settings: Settings, http: DashScopeHttp) -> None:
        self.mode = settings.dashscope.image_handover
        self.http = http
        self.oss = OssUploader(settings.oss) if self.mode == "oss" else None

    async def reference(self, keyframe: Path, *, model: str, project_id: str, shot_id: str) -> ImageRef:
        if self.mode == "oss":
            assert self.oss is not None
            key = await self.oss.upload(keyframe, project_id=project_id, shot_id=shot_id)
            return ImageRef(self.oss.presigned_url(key))
        data = await asyncio.to_thread(keyframe.read_bytes)
        if self.mode == "upload":
            return ImageRef(await self._temporary_upload(data, model), oss_resolve=True)
        return ImageRef(f"data:{mime_of(data)};base64,{base64.b64encode(data).decode('ascii')}")

    async def _temporary_upload(self, data: bytes, model: str) -> str:
        body = await self.http.call("GET", "uploads", params={"action": "getPolicy", "model": model})
        policy = body.get("data") or {}
        try:
            host, upload_dir = str(policy["upload_host"]), str(policy["upload_dir"]).rstrip("/")
            suffix = ".jpg" if mime_of(data) == "image/jpeg" else ".png"
            key = f"{upload_dir}/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
            fields = {
                "OSSAccessKeyId": str(policy["oss_access_key_id"]), "Signature": str(policy["signature"]),
                "policy": str(policy["policy"]), "key": key,
                "x-oss-object-acl": str(policy.get("x_oss_object_acl", "private")),
                "x-oss-forbid-overwrite": str(policy.get("x_oss_forbid_overwrite", "true")),
                "success_action_status": "200", "x-oss-content-type": mime_of(data),
            }
        except KeyError as exc:
            raise BackendError(f"DashScope upload policy is missing {exc.args[0]!r}") from None
        try:
            # No Authorization header: the policy signature is the credential for the upload host.
            response = await self.http.client.post(host, data=fields, files={"file": (key.rsplit("/", 1)[-1], data,
                                                                                       mime_of(data))})
        except httpx.HTTPError as exc:
            raise transport_error("DashScope upload", host, exc) from None
        if response.status_code != 200:
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientError(f"DashScope temporary upload failed (HTTP {response.status_code})")
            raise BackendError(f"DashScope temporary upload refused (HTTP {response.status_code})",
                               hint="the temporary upload only exists in the Beijing region; "
                                    "use image_handover = \"data_uri\" or \"oss\" elsewhere")
        return f"oss://{key}"
