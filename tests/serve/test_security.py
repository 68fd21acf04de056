"""Who may call, what they may reach: tokens, loopback by default, one user's stories never reachable
through another's, ids and paths validated, /static limited to a story's own files, keys never out."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from s2v_tui.backends.fake import FakeKeyframe
from s2v_tui.backends.registry import BackendSet
from s2v_tui.domain.errors import BackendError
from s2v_tui.serve.auth import is_loopback
from s2v_tui.serve.cli import run_serve
from tests.fakes.oss import OssFake
from tests.serve.conftest import README_PATHS, Served, create_body, serve_settings, start

TOKEN = "serve-token-for-tests-0042"


async def test_a_token_is_required_on_every_api_call_when_set() -> None:
    async for served in start(serve_settings(serve={"token": TOKEN})):
        denied = await served.client.post(README_PATHS["create"], json=create_body())
        assert denied.status_code == 401 and denied.json()["code"] == "UNAUTHORIZED"
        assert denied.headers["www-authenticate"] == "Bearer"
        wrong = await served.client.get("/api/v1/stories", params={"user_id": "u-001"},
                                        headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = await served.client.post(README_PATHS["create"], json=create_body(), headers=auth)
        assert created.status_code == 200
        assert (await served.client.get("/docs")).status_code == 200  # the docs hold no data
        assert TOKEN not in created.text


async def test_the_api_docs_load_without_the_internet(served: Served) -> None:
    """/docs and /redoc take their scripts from the service itself, not a CDN (blank pages offline)."""
    import re

    for page in ("/docs", "/redoc"):
        html = (await served.client.get(page)).text
        scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert scripts and not [s for s in scripts if "://" in s], scripts
        for script in scripts:
            answer = await served.client.get(script)
            assert answer.status_code == 200 and len(answer.content) > 100_000, script


async def test_static_links_are_signed_when_a_token_is_set_and_a_forged_one_is_refused() -> None:
    async for served in start(serve_settings(serve={"token": TOKEN})):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        url = (await served.client.post(README_PATHS["create"], json=create_body(), headers=auth)).json()["shots"][0]["image_url"]
        assert (await served.client.get(url)).status_code == 200  # a player needs no header
        query = parse_qs(urlsplit(url).query)
        assert set(query) == {"v", "exp", "sig"}
        path = urlsplit(url).path
        forged = f"{path}?exp={query['exp'][0]}&sig={'0' * 32}"
        assert (await served.client.get(forged)).status_code == 401
        later = f"{path}?exp={int(query['exp'][0]) + 1}&sig={query['sig'][0]}"
        assert (await served.client.get(later)).status_code == 401
        assert (await served.client.get(path)).status_code == 401
        assert (await served.client.get(path, headers=auth)).status_code == 200


def test_serve_refuses_a_public_address_without_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_serve(["--host", "0.0.0.0", "--port", "1"]) == 2
    assert "without a token" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")


async def test_two_users_never_reach_each_others_stories(served: Served) -> None:
    a = await served.client.post(README_PATHS["create"], json=create_body("op-a", user_id="alice"))
    b = await served.client.post(README_PATHS["create"], json=create_body("op-b", user_id="bob",
                                                                          script_content="从前有一座山。山里有一座庙。"))
    assert a.status_code == b.status_code == 200
    root = served.settings.projects_dir / "users"
    assert (root / "alice/stories/story-001/project.json").is_file()
    assert (root / "bob/stories/story-001/project.json").is_file()
    assert a.json()["shots"][0]["narration"] != b.json()["shots"][0]["narration"]
    listed = (await served.client.get("/api/v1/stories", params={"user_id": "carol"})).json()
    assert listed == {"user_id": "carol", "stories": []}
    alice = (await served.client.get("/api/v1/stories", params={"user_id": "alice"})).json()
    assert [s["story_id"] for s in alice["stories"]] == ["story-001"] and alice["stories"][0]["user_id"] == "alice"
    assert (await served.client.get("/api/v1/stories/story-001", params={"user_id": "carol"})).status_code == 404
    answer = await served.client.post(README_PATHS["regenerate"], json={
        "operation_id": "op-c", "story_id": "story-001", "user_id": "carol", "shot_id": "shot_01"})
    assert answer.status_code == 404
    url = a.json()["shots"][0]["image_url"]
    assert (await served.client.get(url)).status_code == 200
    assert (await served.client.get(url.replace("/alice/", "/bob/"))).status_code == 404
    assert (await served.client.get("/api/v1/operations/op-a", params={"user_id": "bob"})).status_code == 404
    assert (await served.client.get("/api/v1/operations/op-a", params={"user_id": "alice"})).status_code == 200
    taken = await served.client.post(README_PATHS["create"], json=create_body("op-a", user_id="bob"))
    assert taken.status_code == 409  # an id in use is never another user's way into that operation


@pytest.mark.parametrize("path", [
    "project.json", "project.json.bak", "operations/op-001.json", ".s2v.lock.owner", "assets/.records",
    "assets/../project.json", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "output/final.srt/../../project.json",
])
async def test_static_serves_only_the_storys_own_assets(served: Served, path: str) -> None:
    assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
    answer = await served.client.get(f"/static/u-001/story-001/{path}")
    assert answer.status_code in (404, 422)
    assert b'"script"' not in answer.content and b"root:" not in answer.content


async def test_a_link_in_the_project_folder_is_never_followed(served: Served, tmp_path: Path) -> None:
    body = (await served.client.post(README_PATHS["create"], json=create_body())).json()
    url = body["shots"][0]["image_url"]
    relative = urlsplit(url).path.split("/story-001/", 1)[1]
    keyframe = served.settings.projects_dir / "users/u-001/stories/story-001" / relative
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the project")
    keyframe.unlink()
    keyframe.symlink_to(secret)
    answer = await served.client.get(url)
    assert answer.status_code in (404, 422) and b"outside" not in answer.content


async def test_range_requests_let_players_seek(served: Served) -> None:
    assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
    film = (await served.client.post(README_PATHS["render"], json={
        "operation_id": "op-r", "story_id": "story-001", "user_id": "u-001"})).json()["video_url"]
    whole = await served.client.get(film)
    assert whole.headers["accept-ranges"] == "bytes"
    part = await served.client.get(film, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == whole.content[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(whole.content)}"


SECRET = "sk-serve-leak-check-000000000000000001"


class LeakyKeyframe(FakeKeyframe):
    async def keyframe(self, request, out: Path, ctx) -> None:  # type: ignore[no-untyped-def]
        raise BackendError(f"provider rejected key {SECRET} (Authorization: Bearer {SECRET})")


async def test_keys_never_reach_responses_events_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = serve_settings(dashscope={"api_key": SECRET})
    backends = BackendSet.from_settings(settings)
    backends.keyframe = LeakyKeyframe(settings.fake)
    caplog.set_level(logging.DEBUG)
    async for served in start(settings, backends=backends):
        answer = await served.client.post(README_PATHS["create"], json=create_body())
        assert answer.status_code == 502 and "provider rejected key ***" in answer.json()["message"]
        seen = [answer.text, (await served.client.get("/api/v1/operations/op-001")).text,
                (await served.client.get("/api/v1/operations/op-001/events")).text,
                (await served.client.get("/api/v1/stories/story-001", params={"user_id": "u-001"})).text]
    files = [p.read_text(errors="ignore") for p in settings.projects_dir.rglob("*.json")]
    assert all(SECRET not in text for text in [*seen, caplog.text, *files])


async def test_with_oss_configured_links_are_presigned_uploads_under_the_users_story() -> None:
    fake = OssFake().start()
    try:
        oss = {"endpoint": fake.url, "bucket": fake.bucket, "access_key_id": fake.access_key_id,
               "access_key_secret": fake.access_key_secret, "prefix": "s2v"}
        async for served in start(serve_settings(oss=oss)):
            body = (await served.client.post(README_PATHS["create"], json=create_body())).json()
            urls = [shot["image_url"] for shot in body["shots"]]
            assert all(url.startswith(fake.url) and "Signature=" in url for url in urls)
            assert all("/s2v/users/u-001/stories/story-001/" in url.replace("%2F", "/") for url in urls)
            async with httpx.AsyncClient() as plain:
                picture = await plain.get(urls[0])
            assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
            puts = len(fake.puts)
            again = (await served.client.get("/api/v1/operations/op-001")).json()["result"]["shots"][0]["image_url"]
            assert again.startswith(fake.url) and len(fake.puts) == puts  # signed anew, never uploaded twice
            film = (await served.client.post(README_PATHS["render"], json={
                "operation_id": "op-r", "story_id": "story-001", "user_id": "u-001"})).json()["video_url"]
            async with httpx.AsyncClient() as plain:
                movie = await plain.get(film)
            assert movie.status_code == 200 and movie.headers["content-type"] == "video/mp4"
            assert "/users/u-001/stories/story-001/film/" in film.replace("%2F", "/")
    finally:
        fake.stop()
