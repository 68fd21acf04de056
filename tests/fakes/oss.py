"""A loopback fake of one Aliyun OSS bucket, faithful enough for the real `oss2` 2.19.1 SDK.

    fake = OssFake().start()
    bucket = oss2.Bucket(oss2.Auth(fake.access_key_id, fake.access_key_secret), fake.url, fake.bucket)

oss2 uses path-style URLs for IP endpoints: `/{bucket}/{key}` with `/` in the key sent as `%2F`
(protocols.md §8). Every request must carry a valid V1 header signature (`Authorization: OSS AK:SIG`,
with the Date within 15 minutes) or be a V1 presigned URL (`OSSAccessKeyId`, `Expires`, `Signature` query).
Errors are the OSS XML body (HEAD: empty body + base64 `x-oss-err` header), so oss2 raises its mapped
exceptions: SignatureDoesNotMatch, AccessDenied ("Request has expired."), NoSuchKey, NoSuchBucket, ...
No `x-oss-hash-crc64ecma` is sent, so oss2's CRC check is skipped. V4 signatures are not supported.

Route keys for `fake.faults.add(key, Fault(...))`: "PUT /{bucket}/{key}", "GET /{bucket}/{key}",
"HEAD /{bucket}/{key}", "DELETE /{bucket}/{key}" (literally, with the braces; any object key matches).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.server import FakeServer

# the V1 sub-resources that are part of the signed resource (a subset of oss2's list)
SUBRESOURCES = frozenset({
    "acl", "uploadId", "uploads", "partNumber", "append", "position", "security-token", "x-oss-process",
    "response-content-type", "response-content-language", "response-cache-control", "response-expires",
    "response-content-disposition", "response-content-encoding", "tagging", "versionId", "symlink",
    "restore", "objectMeta", "x-oss-traffic-limit", "x-oss-request-payer", "delete", "stat",
})


class OssFake(FakeServer):
    def __init__(self, access_key_id: str = "AKIDFAKE", access_key_secret: str = "SECRETFAKE",
                 bucket: str = "s2v-test") -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.bucket = bucket
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.puts: list[str] = []
        self.clock = time.time  # replaceable, for expiry/skew tests
        self._mtimes: dict[str, float] = {}

    def route_key(self, request: web.Request) -> str:
        return f"{request.method} /{{bucket}}/{{key}}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def object_url(self, key: str) -> str:
        """The unsigned path-style URL oss2 would build (key `/` kept literal)."""
        return f"{self.url}/{self.bucket}/{key}"

    # -- errors -------------------------------------------------------------------------------
    @staticmethod
    def _error(request: web.Request, status: int, code: str, message: str, **extra: str) -> web.Response:
        rid = uuid.uuid4().hex[:24].upper()
        fields = {"Code": code, "Message": message, "RequestId": rid, "HostId": "127.0.0.1", **extra}
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
               + "".join(f"<{k}>{_xml_escape(v)}</{k}>" for k, v in fields.items()) + "</Error>\n")
        headers = {"x-oss-request-id": rid, "Server": "AliyunOSS"}
        if request.method == "HEAD":
            headers["x-oss-err"] = base64.b64encode(xml.encode()).decode()
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, text=xml, content_type="application/xml", headers=headers)

    # -- signature ----------------------------------------------------------------------------
    def _string_to_sign(self, request: web.Request, date: str, resource: str) -> str:
        h = request.headers
        oss_headers = sorted((k.lower(), v) for k, v in h.items() if k.lower().startswith("x-oss-"))
        canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
        subres = sorted((k, v) for k, v in request.query.items() if k in SUBRESOURCES)
        if subres:
            resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subres)
        return "\n".join([request.method, h.get("Content-MD5", ""), h.get("Content-Type", ""), date,
                          canon + resource])

    def _sign(self, string_to_sign: str) -> str:
        digest = hmac.new(self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def _check_auth(self, request: web.Request, resource: str) -> web.Response | None:
        q, auth = request.query, request.headers.get("Authorization", "")
        if "Signature" in q and "OSSAccessKeyId" in q:
            if q["OSSAccessKeyId"] != self.access_key_id:
                return self._error(request, 403, "InvalidAccessKeyId",
                                   "The OSS Access Key Id you provided does not exist in our records.",
                                   OSSAccessKeyId=q["OSSAccessKeyId"])
            expires = q.get("Expires", "")
            if not expires.isdigit() or int(expires) < self.clock():
                return self._error(request, 403, "AccessDenied", "Request has expired.",
                                   Expires=expires, ServerTime=_iso(self.clock()))
            sts = self._string_to_sign(request, expires, resource)
            if not hmac.compare_digest(self._sign(sts), q["Signature"]):
                return self._error(request, 403, "SignatureDoesNotMatch", _SIG_MSG, StringToSign=sts,
                                   OSSAccessKeyId=self.access_key_id)
            return None
        if auth.startswith("OSS ") and ":" in auth:
            ak, signature = auth[4:].rsplit(":", 1)
            if ak != self.access_key_id:
                return self._error(request, 403, "InvalidAccessKeyId",
                                   "The OSS Access Key Id you provided does not exist in our records.",
                                   OSSAccessKeyId=ak)
            date = request.headers.get("x-oss-date") or request.headers.get("Date", "")
            try:
                skew = abs(parsedate_to_datetime(date).timestamp() - self.clock())
            except (TypeError, ValueError, IndexError):
                skew = float("inf")
            if skew > 15 * 60:
                return self._error(request, 403, "RequestTimeTooSkewed",
                                   "The difference between the request time and the current time is too large.")
            sts = self._string_to_sign(request, date, resource)
            if not hmac.compare_digest(self._sign(sts), signature):
                return self._error(request, 403, "SignatureDoesNotMatch", _SIG_MSG, StringToSign=sts,
                                   OSSAccessKeyId=ak)
            return None
        if auth:
            return self._error(request, 400, "InvalidArgument", "Only the V1 OSS signature is supported.")
        return self._error(request, 403, "AccessDenied",
                           "You have no right to access this object because of bucket acl.")

    # -- handler ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_path.lstrip("/")
        bucket, _, raw_key = raw.partition("/")
        bucket, key = unquote(bucket), unquote(raw_key)
        if bucket != self.bucket:
            return self._error(request, 404, "NoSuchBucket", "The specified bucket does not exist.",
                               BucketName=bucket)
        if not key:
            return self._error(request, 501, "NotImplemented", "Bucket-level operations are not faked.")
        if (err := self._check_auth(request, f"/{bucket}/{key}")) is not None:
            return err
        handler = {"PUT": self._put, "GET": self._get, "HEAD": self._get, "DELETE": self._delete}.get(request.method)
        if handler is None:
            return self._error(request, 405, "MethodNotAllowed", "The specified method is not allowed.")
        return await handler(request, key)

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"x-oss-request-id": uuid.uuid4().hex[:24].upper(), "Server": "AliyunOSS"}
        if key is not None:
            data, ctype = self.objects[key]
            headers.update({"ETag": f'"{hashlib.md5(data).hexdigest().upper()}"', "Content-Type": ctype,
                            "Last-Modified": formatdate(self._mtimes[key], usegmt=True),
                            "x-oss-object-type": "Normal", "Accept-Ranges": "bytes"})
        return headers

    async def _put(self, request: web.Request, key: str) -> web.Response:
        data = await request.read()
        md5 = request.headers.get("Content-MD5")
        if md5 and md5 != base64.b64encode(hashlib.md5(data).digest()).decode():
            return self._error(request, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        if request.headers.get("x-oss-forbid-overwrite", "").lower() == "true" and key in self.objects:
            return self._error(request, 409, "FileAlreadyExists", "The object you specified already exists.")
        self.objects[key] = (data, request.headers.get("Content-Type") or "application/octet-stream")
        self._mtimes[key] = self.clock()
        self.puts.append(key)
        headers = self._headers(key)
        headers.pop("Content-Type")
        return web.Response(status=200, headers=headers)

    async def _get(self, request: web.Request, key: str) -> web.StreamResponse:
        if key not in self.objects:
            return self._error(request, 404, "NoSuchKey", "The specified key does not exist.", Key=key)
        data = self.objects[key][0]
        headers, status = self._headers(key), 200
        rng = _parse_range(request.headers.get("Range", ""), len(data))
        if rng is not None:
            start, end = rng
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            resp = web.StreamResponse(status=status, headers=headers)
            await resp.prepare(request)
            return resp
        return web.Response(status=status, body=data, headers=headers)

    async def _delete(self, request: web.Request, key: str) -> web.Response:
        self.objects.pop(key, None)
        self._mtimes.pop(key, None)
        return web.Response(status=204, headers=self._headers())


_SIG_MSG = ("The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def _xml_escape(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b` / `bytes=a-` / `bytes=-n`; an invalid range is ignored (whole object), like OSS."""
    if not header.startswith("bytes=") or "," in header or size == 0:
        return None
    first, _, last = header[6:].partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), (int(last) if last else size - 1)
    except ValueError:
        return None
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)
