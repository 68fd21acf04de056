"""Storage routes of `DashScopeFake` (mixin): the temp-file upload (getPolicy + the OSS form-POST host)
and the result-file host (`/files/{name}`, with truncation faults).

Upload flow (protocols.md §3.3): `GET /api/v1/uploads?action=getPolicy&model=M` issues a policy whose
`upload_dir` is `dashscope-instant/<hash>/<date>/<uuid>` and `upload_host` is `<fake>/oss-upload`; the
multipart POST must echo OSSAccessKeyId/Signature/policy and a key under that dir; the bytes land in
`fake.uploads[key]` and the model call then refers to them as `oss://<key>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from tests.fakes import dashscope_rules as R

_UPLOAD_AK, _UPLOAD_SECRET = "LTAIfakeUploadKey", b"fake-upload-secret"


class StorageRoutes:
    """Mixed into DashScopeFake; these are the host's attributes it uses."""

    url: str
    api_key: str
    uploads: dict[str, bytes]
    files: dict[str, tuple[bytes, str]]
    downloads: list[str]
    truncate_next_downloads: int
    truncate_mode: str
    signed_result_urls: bool
    _policies: dict[str, tuple[str, float]]
    _auth_error: Callable[[web.Request], web.Response | None]

    def _file_url(self, name: str) -> str:
        url = f"{self.url}/files/{name}"
        if self.signed_result_urls:
            url += f"?Expires={int(time.time()) + 86400}&OSSAccessKeyId=LTAIfakeResult&Signature=ZmFrZQ%3D%3D"
        return url

    def _store_file(self, ext: str, data: bytes, content_type: str) -> str:
        name = f"{uuid.uuid4().hex}.{ext}"
        self.files[name] = (data, content_type)
        return self._file_url(name)

    # -- temp-file upload ---------------------------------------------------------------------
    async def _get_policy(self, request: web.Request) -> web.Response:
        if (err := self._auth_error(request)) is not None:
            return err
        model = request.query.get("model", "")
        if request.query.get("action") != "getPolicy" or not model:
            return R.ds_error(400, "InvalidParameter", "action=getPolicy and model are required.")
        upload_dir = f"dashscope-instant/{hashlib.md5(self.api_key.encode()).hexdigest()}/" \
                     f"{time.strftime('%Y-%m-%d')}/{uuid.uuid4()}"
        expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300))
        conditions = [["starts-with", "$key", upload_dir], {"model": model}]
        policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode()).decode()
        self._policies[policy] = (upload_dir, time.time())
        return web.json_response({"request_id": R.request_id(), "data": {
            "policy": policy, "signature": self._sign_policy(policy), "upload_dir": upload_dir,
            "upload_host": f"{self.url}/oss-upload", "expire_in_seconds": 300, "max_file_size_mb": 100,
            "capacity_limit_mb": 999999, "oss_access_key_id": _UPLOAD_AK, "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true"}})

    @staticmethod
    def _sign_policy(policy: str) -> str:
        return base64.b64encode(hmac.new(_UPLOAD_SECRET, policy.encode(), hashlib.sha1).digest()).decode()

    async def _oss_upload(self, request: web.Request) -> web.Response:
        ctype = request.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return R.oss_error(400, "InvalidArgument", "The request must be multipart/form-data.")
        form = R.parse_multipart(ctype, await request.read())
        missing = [f for f in ("OSSAccessKeyId", "Signature", "policy", "key", "file") if f not in form]
        if missing:
            return R.oss_error(400, "InvalidArgument", f"Missing form fields: {', '.join(missing)}")
        policy, key = form["policy"].decode(), form["key"].decode()
        issued = self._policies.get(policy)
        if form["OSSAccessKeyId"].decode() != _UPLOAD_AK or issued is None:
            return R.oss_error(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist.")
        if form["Signature"].decode() != self._sign_policy(policy):
            return R.oss_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if time.time() - issued[1] > 300:
            return R.oss_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        if not key.startswith(issued[0] + "/"):
            return R.oss_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed.")
        if form.get("x-oss-forbid-overwrite", b"").lower() == b"true" and key in self.uploads:
            return R.oss_error(409, "FileAlreadyExists", "The object you specified already exists.")
        self.uploads[key] = form["file"]
        etag = hashlib.md5(form["file"]).hexdigest().upper()
        return web.Response(status=200, headers={"ETag": f'"{etag}"', "x-oss-request-id": uuid.uuid4().hex})

    # -- result files -------------------------------------------------------------------------
    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.files:
            return R.oss_error(404, "NoSuchKey", "The specified key does not exist.")
        data, ctype = self.files[name]
        self.downloads.append(name)
        if self.truncate_next_downloads <= 0:
            return web.Response(body=data, content_type=ctype)
        self.truncate_next_downloads -= 1
        half = data[: len(data) // 2]
        if self.truncate_mode == "short":
            return web.Response(body=half, content_type=ctype)
        resp = web.StreamResponse(headers={"Content-Type": ctype})
        resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(half)
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError("fake: truncated download")
