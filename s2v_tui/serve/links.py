"""The links a response hands out for a story's pictures and films.

- With `[oss]` credentials: the file is uploaded once (the key is named by its content, under
  `<prefix>/users/<user>/stories/<story>/<shot or film>/`, so one user's object is never reachable
  through another's story) and a presigned GET link is signed for each response — never stored, so
  no stored link ever expires (the original persisted 24-hour links as if they were permanent).
- Otherwise: `/static/<user>/<story>/<path>` served by s2v itself (with HTTP Range), signed with an
  expiry when a token protects the service, so a video player can fetch it without the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from pathlib import PurePosixPath
from urllib.parse import quote

from s2v_tui.backends.oss.uploader import OssUploader, object_key
from s2v_tui.config import Settings
from s2v_tui.storage.project_store import ProjectFolder

STATIC = "/static"


def oss_configured(settings: Settings) -> bool:
    return bool(settings.oss.access_key_id and settings.oss.access_key_secret)


class StaticSigner:
    """HMAC signatures for /static links (keyed by the service token; no token, no signature)."""

    def __init__(self, settings: Settings) -> None:
        token = settings.serve.token
        self._key = hashlib.sha256(b"s2v-static:" + token.get_secret_value().encode()).digest() if token else None
        self.expires = settings.serve.static_url_expires

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def _signature(self, path: str, expires: int) -> str:
        assert self._key is not None
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def query(self, path: str) -> str:
        if self._key is None:
            return ""
        expires = int(time.time()) + self.expires
        return f"exp={expires}&sig={self._signature(path, expires)}"

    def valid(self, path: str, expires: str | None, signature: str | None) -> bool:
        if self._key is None or not expires or not signature or not expires.isdigit():
            return False
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(path, int(expires)), signature)


class Links:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signer = StaticSigner(settings)
        self.base = (settings.serve.public_url or "").rstrip("/")
        self.uploader = OssUploader(settings.oss) if oss_configured(settings) else None
        self._uploaded: set[str] = set()
        self._uploading: dict[str, asyncio.Future[None]] = {}

    def static_path(self, user_id: str, story_id: str, relative: str) -> str:
        return f"{STATIC}/{user_id}/{story_id}/{quote(relative)}"

    def _oss_prefix(self, user_id: str) -> str:
        return "/".join(p for p in (self.settings.oss.prefix.strip("/"), "users", user_id, "stories") if p)

    async def url(self, folder: ProjectFolder, user_id: str, story_id: str, owner: str, relative: str,
                  sha256: str) -> str:
        """A link to a story's file (which exists: callers check), for a response made now."""
        if self.uploader is None:
            path = self.static_path(user_id, story_id, relative)
            query = self.signer.query(path)
            version = f"v={sha256[:12]}"
            return f"{self.base}{path}?{version}{'&' + query if query else ''}"
        prefix = self._oss_prefix(user_id)
        key = object_key(prefix, story_id, owner, sha256, PurePosixPath(relative).suffix)
        if key not in self._uploaded:
            await self._upload_once(key, folder, story_id, owner, relative, prefix)
        return self.uploader.presigned_url(key)

    async def _upload_once(self, key: str, folder: ProjectFolder, story_id: str, owner: str, relative: str,
                           prefix: str) -> None:
        """Upload a file once, even when many responses ask for it at the same time."""
        assert self.uploader is not None
        running = self._uploading.get(key)
        if running is not None:
            await asyncio.shield(running)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._uploading[key] = future
        try:
            await self.uploader.upload(folder.resolve(relative), project_id=story_id, shot_id=owner, prefix=prefix)
            self._uploaded.add(key)
            future.set_result(None)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._uploading[key]
