"""Upload a keyframe to OSS and sign a short-lived GET link for it, with `oss2`.

Two defects of the seed are designed out here:
- it uploaded every user's first frame to the same key (`users/temp/i2v_inputs/shot_NN.png`), so
  concurrent renders overwrote each other and one user could get a video of another's image. Keys are
  `{prefix}/{project}/{shot}/{sha256[:16]}{ext}`: unique per project and shot, and named by content, so
  an object is never replaced by different bytes;
- it stored presigned URLs as if they were permanent. `presigned_url` signs anew on every use and the
  link is never written anywhere; only the key is stable.
oss2 is synchronous, so calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
from pathlib import Path

from s2v_tui.backends.http import scrub_library_logs
from s2v_tui.config import OssSettings
from s2v_tui.domain.errors import AuthError, BackendError, ConfigError, S2VError, TransientError

KEY_ENVS = "OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
scrub_library_logs("oss2", "oss2.api", "oss2.http", "oss2.auth", "oss2.models", "oss2.credentials")


def object_key(prefix: str, project_id: str, shot_id: str, digest: str, suffix: str) -> str:
    parts = [_SAFE.sub("_", part).strip("._") or "_" for part in (project_id, shot_id)]  # no "..", no "/"
    head = "/".join(p for p in prefix.strip("/").split("/") if p)
    return "/".join(x for x in (head, *parts, f"{digest[:16]}{suffix.lower()}") if x)


def oss_error(exc: Exception) -> S2VError:
    """oss2 exceptions → s2v errors; the message never includes oss2's details (they echo the key id)."""
    import oss2

    if isinstance(exc, oss2.exceptions.RequestError):
        return TransientError("OSS could not be reached", hint="check the network and [oss] endpoint in config")
    if isinstance(exc, oss2.exceptions.OssError):
        status, code = int(exc.status or 0), str(exc.code or "")
        if status in (401, 403) or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return AuthError(f"OSS refused the credentials ({code or status})",
                             hint=f"set valid {KEY_ENVS} with write access to the bucket")
        if code == "NoSuchBucket":
            return ConfigError("the OSS bucket does not exist", hint="check [oss] bucket / OSS_BUCKET and the endpoint")
        if status == 429 or status >= 500:
            return TransientError(f"OSS error {status} {code}")
        return BackendError(f"OSS error {status} {code}: {exc.message}")
    return TransientError(f"OSS upload failed: {type(exc).__name__}")


def _content_type(path: Path, data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class OssUploader:
    def __init__(self, settings: OssSettings) -> None:
        self.settings = settings
        self._bucket = None

    def _bucket_client(self):  # type: ignore[no-untyped-def]
        import oss2

        if self._bucket is None:
            key_id = self.settings.access_key_id.get_secret_value() if self.settings.access_key_id else ""
            secret = self.settings.access_key_secret.get_secret_value() if self.settings.access_key_secret else ""
            if not key_id or not secret:
                raise AuthError("OSS credentials are not configured",
                                hint=f"set {KEY_ENVS}, or use [dashscope] image_handover = \"upload\" or \"data_uri\"")
            endpoint = self.settings.endpoint
            if "://" not in endpoint:
                endpoint = "https://" + endpoint  # the seed defaulted to http://; links carry a signature
            self._bucket = oss2.Bucket(oss2.Auth(key_id, secret), endpoint, self.settings.bucket)
        return self._bucket

    async def upload(self, path: Path, *, project_id: str, shot_id: str, prefix: str | None = None) -> str:
        """Upload `path` (idempotent: the key is named by its content) under `prefix` (default: the
        configured one); returns the object key."""
        data = await asyncio.to_thread(path.read_bytes)
        key = object_key(self.settings.prefix if prefix is None else prefix, project_id, shot_id,
                         hashlib.sha256(data).hexdigest(), path.suffix)
        content_type = _content_type(path, data)
        try:
            bucket = self._bucket_client()
            await asyncio.to_thread(bucket.put_object, key, data, headers={"Content-Type": content_type})
        except S2VError:
            raise
        except Exception as exc:  # noqa: BLE001 - oss2 raises its own hierarchy plus requests' errors
            raise oss_error(exc) from None
        return key

    def presigned_url(self, key: str) -> str:
        """A GET link valid for `url_expires` seconds, signed now. Never store it: sign again on use."""
        try:
            return self._bucket_client().sign_url("GET", key, self.settings.url_expires, slash_safe=True)
        except S2VError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise oss_error(exc) from None
