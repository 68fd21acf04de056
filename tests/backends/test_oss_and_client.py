"""OSS uploads with the real oss2 against the OSS fake, and DashScope endpoint/key/error handling."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest

from s2v_tui.backends.dashscope.client import api_key, dashscope_error, endpoints
from s2v_tui.backends.oss import OssUploader, object_key
from s2v_tui.domain.errors import AuthError, BackendError, ContentRejectedError, TransientError
from tests.conftest import make_settings
from tests.fakes.media import png_bytes

pytestmark = pytest.mark.timeout(30)


def uploader(oss_fake, **overrides) -> OssUploader:
    section = {"endpoint": oss_fake.url, "bucket": oss_fake.bucket, "access_key_id": oss_fake.access_key_id,
               "access_key_secret": oss_fake.access_key_secret, "prefix": "s2v", "url_expires": 600, **overrides}
    return OssUploader(make_settings(oss=section).oss)


async def test_keys_are_per_project_shot_and_content(oss_fake, tmp_path: Path):
    image = tmp_path / "kf.png"
    image.write_bytes(png_bytes(64, 64, seed=1))
    oss = uploader(oss_fake)
    key = await oss.upload(image, project_id="story-a", shot_id="shot_01")
    assert key == f"s2v/story-a/shot_01/{hashlib.sha256(image.read_bytes()).hexdigest()[:16]}.png"
    assert await oss.upload(image, project_id="story-b", shot_id="shot_01") != key
    assert await oss.upload(image, project_id="story-a", shot_id="shot_02") != key
    image.write_bytes(png_bytes(64, 64, seed=2))
    assert await oss.upload(image, project_id="story-a", shot_id="shot_01") != key
    assert oss_fake.objects[key][1] == "image/png"


def test_object_keys_cannot_escape_their_prefix():
    assert object_key("s2v/", "../../etc", "shot 01", "ab" * 32, ".PNG") == f"s2v/etc/shot_01/{'ab' * 8}.png"


async def test_presigned_url_is_signed_on_every_use_and_works(oss_fake, tmp_path: Path):
    image = tmp_path / "kf.png"
    image.write_bytes(png_bytes(64, 64, seed=1))
    oss = uploader(oss_fake)
    key = await oss.upload(image, project_id="p", shot_id="shot_01")
    first = oss.presigned_url(key)
    time.sleep(1.05)  # a signature carries an absolute expiry in whole seconds
    second = oss.presigned_url(key)
    assert first != second and "Expires=" in second and "Signature=" in second
    async with httpx.AsyncClient() as client:
        assert (await client.get(second)).content == image.read_bytes()


async def test_wrong_secret_is_an_auth_error_without_the_key_id(oss_fake, tmp_path: Path):
    image = tmp_path / "kf.png"
    image.write_bytes(png_bytes(64, 64))
    with pytest.raises(AuthError) as caught:
        await uploader(oss_fake, access_key_secret="not-the-secret").upload(image, project_id="p", shot_id="s")
    assert "OSS_ACCESS_KEY_ID" in str(caught.value) and oss_fake.access_key_id not in str(caught.value)


async def test_missing_credentials_name_the_variables(tmp_path: Path):
    image = tmp_path / "kf.png"
    image.write_bytes(png_bytes(64, 64))
    with pytest.raises(AuthError, match="OSS_ACCESS_KEY_ID"):
        await OssUploader(make_settings().oss).upload(image, project_id="p", shot_id="s")


async def test_unreachable_oss_is_transient(tmp_path: Path):
    image = tmp_path / "kf.png"
    image.write_bytes(png_bytes(64, 64))
    oss = OssUploader(make_settings(oss={"endpoint": "http://127.0.0.1:9", "access_key_id": "AKIDFAKE",
                                         "access_key_secret": "SECRETFAKE"}).oss)
    with pytest.raises(TransientError):
        await oss.upload(image, project_id="p", shot_id="s")


def test_endpoints_config_wins_then_sdk_env_then_region(monkeypatch: pytest.MonkeyPatch):
    assert endpoints(make_settings().dashscope).http == "https://dashscope.aliyuncs.com/api/v1"
    intl = endpoints(make_settings(dashscope={"region": "singapore"}).dashscope)
    assert intl.websocket == "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://proxy.test/api/v1")
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", "ws://proxy.test/ws")
    from_env = endpoints(make_settings(dashscope={"region": "singapore"}).dashscope)
    assert (from_env.http, from_env.websocket) == ("http://proxy.test/api/v1", "ws://proxy.test/ws")
    assert from_env.compatible == "http://proxy.test/compatible-mode/v1"
    explicit = endpoints(make_settings(dashscope={"http_base_url": "http://mine.test/api/v1/"}).dashscope)
    assert explicit.http == "http://mine.test/api/v1"


def test_missing_key_names_the_env_var():
    with pytest.raises(AuthError) as caught:
        api_key(make_settings().dashscope)
    assert "DASHSCOPE_API_KEY" in str(caught.value)


@pytest.mark.parametrize(("status", "code", "expected"), [
    (401, "InvalidApiKey", AuthError), (403, "AccessDenied.Unpurchased", AuthError),
    (429, "Throttling.AllocationQuota", TransientError), (500, "InternalError", TransientError),
    (503, "", TransientError), (400, "DataInspectionFailed", ContentRejectedError),
    (400, "InternalError.Algo.DataInspectionFailed", ContentRejectedError),
    (400, "InvalidParameter", BackendError), (400, "Arrearage", BackendError),
])
def test_error_mapping(status, code, expected):
    error = dashscope_error(status, code, "provider says so")
    assert type(error) is expected
    if expected is AuthError:
        assert "DASHSCOPE_API_KEY" in str(error)
