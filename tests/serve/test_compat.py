"""The original service's three endpoints, field for field, and its clients' bodies as they send them."""

from __future__ import annotations

import json

import pytest

from s2v_tui.serve.jsonbody import tolerant_json
from tests.serve.conftest import JSON, README_PATHS, STORY, Served, create_body, readme_body, serve_settings, start

OPERATION_FIELDS = {"operation_id", "status", "detail"}
SHOT_FIELDS = {"id", "sequence", "subject", "detail", "camera", "narration", "tone", "image_url", "video_url"}


async def post_readme(served: Served, kind: str, **headers: str):  # type: ignore[no-untyped-def]
    return await served.client.post(README_PATHS[kind], content=readme_body(kind), headers={**JSON, **headers})


async def test_the_readme_requests_work_as_sent_and_answer_the_original_fields(served: Served) -> None:
    created = await post_readme(served, "create")
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == {"operation", "shots"}
    assert set(body["operation"]) == OPERATION_FIELDS
    assert body["operation"] == {"operation_id": "op-001", "status": "Success", "detail": None}
    assert len(body["shots"]) >= 2
    for number, shot in enumerate(body["shots"], start=1):
        assert set(shot) == SHOT_FIELDS
        assert shot["id"] == f"shot_{number:02d}" and shot["sequence"] == number
        assert shot["video_url"] is None and shot["narration"] and shot["camera"]
        picture = await served.client.get(shot["image_url"])
        assert picture.status_code == 200 and picture.content[:8] == b"\x89PNG\r\n\x1a\n"
    before = {shot["id"]: shot["image_url"] for shot in body["shots"]}

    regenerated = await post_readme(served, "regenerate")
    assert regenerated.status_code == 200, regenerated.text
    shot = regenerated.json()["shot"]
    assert set(regenerated.json()) == {"operation", "shot"} and set(shot) == SHOT_FIELDS
    assert shot["id"] == "shot_01" and shot["detail"] == "新的细节描述..."
    assert shot["image_url"] != before["shot_01"]
    progress = served.service.get("op-002").progress
    assert progress["keyframe"]["total"] == 1 and progress["keyframe"]["done"] == 1  # only that shot

    rendered = await post_readme(served, "render")
    assert rendered.status_code == 200, rendered.text
    assert set(rendered.json()) == {"operation", "video_url"}
    assert rendered.json()["operation"]["status"] == "Success"
    film = await served.client.get(rendered.json()["video_url"])
    assert film.status_code == 200 and film.headers["content-type"] == "video/mp4" and b"ftyp" in film.content[:64]


def test_tolerant_json_repairs_only_the_readme_artefacts() -> None:
    assert json.loads(tolerant_json(readme_body("regenerate")))["shot_id"] == "shot_01"
    assert tolerant_json(b'{"a": "x\\ny"}') == b'{"a": "x\\ny"}'  # an escape inside a string is the string's
    assert tolerant_json(b'{"script_content": "cut off') == b'{"script_content": "cut off'  # never "repaired"
    assert tolerant_json(b'{"a": 1 + 2}') == b'{"a": 1 + 2}'


async def test_the_readme_placeholder_script_is_a_clear_validation_error(served: Served) -> None:
    answer = await served.client.post(README_PATHS["create"], content=readme_body("create", "......"), headers=JSON)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR" and "no words" in body["message"] and body["errors"]


@pytest.mark.parametrize(("change", "where"), [
    ({"story_id": "../../etc"}, "story_id"), ({"user_id": "U/1"}, "user_id"), ({"operation_id": ""}, "operation_id"),
    ({"script_content": None}, "script_content"), ({"style": "x" * 501}, "style"),
])
async def test_validation_errors_have_the_original_shape_without_echoing_input(served: Served, change: dict,
                                                                               where: str) -> None:
    body = {k: v for k, v in {**create_body(), **change}.items() if v is not None}
    answer = await served.client.post(README_PATHS["create"], json=body)
    assert answer.status_code == 422
    payload = answer.json()
    assert payload["code"] == "VALIDATION_ERROR"
    assert any(where in error["loc"] for error in payload["errors"])
    assert all("input" not in error for error in payload["errors"]) and STORY not in answer.text
    assert not list((served.settings.projects_dir / "users").glob("*/stories/*"))  # nothing was created


async def test_unknown_story_and_shot_are_404(served: Served) -> None:
    missing = {"operation_id": "op-x", "story_id": "nope", "user_id": "u-001", "shot_id": "shot_01"}
    for path in (README_PATHS["regenerate"], README_PATHS["render"]):
        answer = await served.client.post(path, json=missing)
        assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
    assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
    answer = await served.client.post(README_PATHS["regenerate"], json={**missing, "story_id": "story-001",
                                                                        "shot_id": "shot_99"})
    assert answer.status_code == 404 and "shot_99" in answer.json()["message"]
    assert (await served.client.get("/api/v1/operations/op-x")).status_code == 404


async def test_a_bad_camera_is_422_and_changes_nothing(served: Served) -> None:
    assert (await served.client.post(README_PATHS["create"], json=create_body())).status_code == 200
    answer = await served.client.post(README_PATHS["regenerate"], json={
        "operation_id": "op-cam", "story_id": "story-001", "user_id": "u-001", "shot_id": "shot_01",
        "camera": "warp drive"})
    assert answer.status_code == 422 and "camera" in answer.json()["message"]
    assert "op-cam" not in served.service.operations


async def test_failed_shots_make_the_status_failed_with_a_502_naming_them() -> None:
    async for served in start(serve_settings(fake={"fail": ["shot_02:keyframe"]})):
        answer = await served.client.post(README_PATHS["create"], json=create_body())
        assert answer.status_code == 502
        body = answer.json()
        assert body["code"] == "PROVIDER_ERROR" and body["operation"]["status"] == "Failed"
        assert "shot_02 keyframe: fake keyframe failure" in body["operation"]["detail"]
        assert body["message"] == body["operation"]["detail"]
        urls = {shot["id"]: shot["image_url"] for shot in body["shots"]}
        assert urls["shot_01"] and urls["shot_02"] is None  # never a link to a picture that was not made
        rendered = await served.client.post(README_PATHS["render"], json={
            "operation_id": "op-r", "story_id": "story-001", "user_id": "u-001"})
        assert rendered.status_code == 502
        assert rendered.json()["operation"]["status"] == "Failed" and rendered.json()["video_url"] is None
        assert "shot_02" in rendered.json()["operation"]["detail"]


async def test_render_with_shots_edits_the_story_first_and_never_fetches_their_urls(served: Served) -> None:
    created = (await served.client.post(README_PATHS["create"], json=create_body())).json()
    shots = [{**shot, "image_url": "http://169.254.169.254/latest/meta-data"} for shot in created["shots"]][:2]
    shots[1]["narration"] = "最后，港口的灯一盏一盏亮了。"
    answer = await served.client.post(README_PATHS["render"], json={
        "operation_id": "op-r", "story_id": "story-001", "user_id": "u-001", "shots": shots})
    assert answer.status_code == 200, answer.text
    story = (await served.client.get("/api/v1/stories/story-001", params={"user_id": "u-001"})).json()
    assert [s["id"] for s in story["shots"]] == ["shot_01", "shot_02"]
    assert story["shots"][1]["narration"] == "最后，港口的灯一盏一盏亮了。"
    assert story["video_url"] and all(s["video_url"] for s in story["shots"])


async def test_a_body_over_the_limit_is_413() -> None:
    async for served in start(serve_settings(serve={"max_body_bytes": 2048})):
        answer = await served.client.post(README_PATHS["create"], json=create_body(script_content="雪" * 5000))
        assert answer.status_code == 413 and answer.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_script_over_the_story_limit_is_422(served: Served) -> None:
    answer = await served.client.post(README_PATHS["create"], json=create_body(script_content="雪。" * 10_001))
    assert answer.status_code == 422 and "characters" in answer.json()["message"]


async def test_regenerate_with_another_style_changes_that_shot_only(served: Served) -> None:
    first = (await served.client.post(README_PATHS["create"], json=create_body())).json()["shots"]
    answer = await served.client.post(README_PATHS["regenerate"], json={
        "operation_id": "op-style", "story_id": "story-001", "user_id": "u-001", "shot_id": "shot_02",
        "style": "油画", "subject": "", "tone": "紧张"})
    assert answer.status_code == 200
    shot = answer.json()["shot"]
    assert shot["tone"] == "紧张" and shot["subject"] == first[1]["subject"]  # "" leaves a field as it is
    assert shot["image_url"] != first[1]["image_url"]
    story = (await served.client.get("/api/v1/stories/story-001", params={"user_id": "u-001"})).json()
    assert story["style"] == "水彩插画"
    assert [s["image_url"] for s in story["shots"]][::2] == [s["image_url"] for s in first][::2]


async def test_creating_again_with_a_new_script_remakes_the_storyboard(served: Served) -> None:
    first = (await served.client.post(README_PATHS["create"], json=create_body())).json()
    same = (await served.client.post(README_PATHS["create"], json=create_body("op-same"))).json()
    assert [s["image_url"] for s in same["shots"]] == [s["image_url"] for s in first["shots"]]
    assert "storyboard" not in served.service.get("op-same").progress  # nothing remade, nothing paid twice
    other = (await served.client.post(README_PATHS["create"], json=create_body(
        "op-new", script_content="清晨，山谷里起了雾。一只白鹭飞过稻田。"))).json()
    assert other["operation"]["status"] == "Success"
    assert "白鹭" in " ".join(s["narration"] for s in other["shots"])


async def test_public_url_makes_links_absolute() -> None:
    async for served in start(serve_settings(serve={"public_url": "https://s2v.example.com/"})):
        body = (await served.client.post(README_PATHS["create"], json=create_body())).json()
        assert body["shots"][0]["image_url"].startswith("https://s2v.example.com/static/u-001/story-001/assets/")


async def test_a_cloud_backend_without_its_key_is_refused_before_a_story_is_made() -> None:
    async for served in start(serve_settings(backends={"keyframe": "dashscope"})):
        answer = await served.client.post(README_PATHS["create"], json=create_body())
        assert answer.status_code == 502 and "DASHSCOPE_API_KEY" in answer.json()["message"] + answer.json()["hint"]
        assert not (served.settings.projects_dir / "users/u-001/stories/story-001").exists()
        assert "op-001" not in served.service.operations


async def test_regenerate_makes_a_new_picture_even_over_a_chosen_take(served: Served) -> None:
    from s2v_tui.domain.shot import Stage
    from s2v_tui.domain.takes import choose
    from s2v_tui.storage.project_store import ProjectFolder

    first = (await served.client.post(README_PATHS["create"], json=create_body())).json()["shots"][0]["image_url"]
    body = {"story_id": "story-001", "user_id": "u-001", "shot_id": "shot_01"}
    second = (await served.client.post(README_PATHS["regenerate"], json={**body, "operation_id": "op-a"})).json()
    with ProjectFolder(served.settings.projects_dir / "users/u-001/stories/story-001") as folder:
        project = folder.load()
        choose(project.shot("shot_01"), Stage.KEYFRAME, 1, key=None)  # the user went back to the first picture
        folder.save(project)
    third = (await served.client.post(README_PATHS["regenerate"], json={**body, "operation_id": "op-b"})).json()
    urls = [first, second["shot"]["image_url"], third["shot"]["image_url"]]
    assert len(set(urls)) == 3 and third["operation"]["status"] == "Success"
    takes = ProjectFolder(served.settings.projects_dir / "users/u-001/stories/story-001").load().shot("shot_01")
    assert [t.number for t in takes.stages[Stage.KEYFRAME].takes] == [1, 2, 3]
