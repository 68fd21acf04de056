"""Fidelity tests for `tests.fakes.oss.OssFake`: they drive the REAL oss2 2.19.1 SDK (and httpx for URLs)."""

from __future__ import annotations

import hashlib

import httpx
import oss2
import pytest

from tests.fakes.oss import OssFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def oss():
    with OssFake() as server:
        yield server


@pytest.fixture
def bucket(oss: OssFake) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(oss.access_key_id, oss.access_key_secret), oss.url, oss.bucket)


def test_put_get_head_delete_round_trip(oss: OssFake, bucket: oss2.Bucket) -> None:
    data = b"\x89PNG fake bytes"
    put = bucket.put_object("story/shot 01.png", data, headers={"Content-Type": "image/png"})
    assert put.status == 200 and put.request_id
    assert put.etag == hashlib.md5(data).hexdigest().upper()
    assert oss.objects == {"story/shot 01.png": (data, "image/png")} and oss.puts == ["story/shot 01.png"]
    assert oss.requests_to("PUT", "/s2v-test/")[0].path == "/s2v-test/story/shot 01.png"

    got = bucket.get_object("story/shot 01.png")
    assert got.read() == data and got.content_type == "image/png" and got.etag == put.etag
    assert bucket.get_object("story/shot 01.png", byte_range=(0, 3)).read() == data[:4]
    assert bucket.head_object("story/shot 01.png").content_length == len(data)

    bucket.delete_object("story/shot 01.png")
    assert not bucket.object_exists("story/shot 01.png")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("story/shot 01.png")


def test_put_object_from_file_guesses_content_type(oss: OssFake, bucket: oss2.Bucket, tmp_path) -> None:
    path = tmp_path / "narration.mp3"
    path.write_bytes(b"ID3 fake")
    bucket.put_object_from_file("audio/narration.mp3", str(path))
    assert oss.objects["audio/narration.mp3"] == (b"ID3 fake", "audio/mpeg")


def test_signed_urls(oss: OssFake, bucket: oss2.Bucket) -> None:
    bucket.put_object("dir/a.png", b"12345678")
    for slash_safe in (False, True):
        url = bucket.sign_url("GET", "dir/a.png", 60, slash_safe=slash_safe)
        assert ("dir/a.png" in url) is slash_safe
        assert httpx.get(url).content == b"12345678"

    expired = httpx.get(bucket.sign_url("GET", "dir/a.png", -5))
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text

    tampered = bucket.sign_url("GET", "dir/a.png", 60).replace("dir%2Fa.png", "dir%2Fb.png")
    bad = httpx.get(tampered)
    assert bad.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in bad.text

    anonymous = httpx.get(oss.object_url("dir/a.png"))
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text


def test_wrong_secret_raises_signature_does_not_match(oss: OssFake) -> None:
    bad = oss2.Bucket(oss2.Auth(oss.access_key_id, "not-the-secret"), oss.url, oss.bucket)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        bad.put_object("x.txt", b"x")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):  # HEAD: error carried in x-oss-err
        bad.head_object("x.txt")
    assert oss.objects == {}


def test_errors_map_to_oss2_exceptions(oss: OssFake, bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.head_object("missing.png")
    other = oss2.Bucket(oss2.Auth(oss.access_key_id, oss.access_key_secret), oss.url, "other-bucket")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.get_object("a")
    oss.clock = lambda: 10**10  # the request Date is now hours off
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("a", b"a")
    assert (info.value.status, info.value.code) == (403, "RequestTimeTooSkewed")


def test_fault_plan_route_key(oss: OssFake, bucket: oss2.Bucket) -> None:
    oss.faults.add("PUT /{bucket}/{key}", Fault(503, b"busy"))
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("a/b.png", b"x")
    assert info.value.status == 503
    bucket.put_object("a/b.png", b"x")
    assert oss.puts == ["a/b.png"]
