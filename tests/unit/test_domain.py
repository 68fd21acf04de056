"""Domain models: camera moves, ids, shots, projects, events."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from s2v_tui.domain.camera import CameraMove, parse_camera
from s2v_tui.domain.errors import BadInputError, redact, register_secret
from s2v_tui.domain.events import EVENT_ADAPTER, ErrorInfo, RunFinished, StageFailed
from s2v_tui.domain.ids import slugify, validate_id
from s2v_tui.domain.project import Project, detect_language, parse_size
from s2v_tui.domain.shot import Asset, Shot


@pytest.mark.parametrize(("value", "expected"), [
    ("镜头推进", CameraMove.PUSH_IN), ("push in", CameraMove.PUSH_IN), ("Dolly-In", CameraMove.PUSH_IN),
    ("PULL_BACK", CameraMove.PULL_BACK), ("locked-off", CameraMove.LOCKED), ("static", CameraMove.LOCKED),
    ("orbit left", CameraMove.ORBIT_LEFT), ("全方位环绕", CameraMove.ORBIT_360), ("镜头推进（缓慢）", CameraMove.PUSH_IN),
])
def test_camera_accepts_labels_and_aliases(value: str, expected: CameraMove) -> None:
    assert parse_camera(value) is expected


def test_camera_rejects_unknown_and_lists_choices() -> None:
    with pytest.raises(ValueError, match="固定机位"):
        parse_camera("spin wildly")


def test_there_are_exactly_the_eleven_seed_moves() -> None:
    assert len(CameraMove) == 11
    assert CameraMove("垂直升降拍摄").english == "vertical crane"


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc", "..", "", "A-Upper", "x" * 65, "shot 1", "a\\b", ".hidden"])
def test_ids_cannot_escape_a_folder(bad: str) -> None:
    with pytest.raises(BadInputError):
        validate_id(bad)


def test_shot_rejects_traversal_id_and_bad_camera() -> None:
    with pytest.raises(ValidationError):
        Shot(id="../../etc", sequence=1)
    with pytest.raises(ValidationError):
        Shot(id="shot_01", sequence=1, camera="barrel roll")


def test_asset_paths_must_stay_inside_the_project() -> None:
    for bad in ("../x.png", "/abs/x.png", "assets/../../x", "a\\b.png"):
        with pytest.raises(ValidationError):
            Asset(path=bad, sha256="0", media_type="image/png", backend="x", input_hash="h")


def test_project_rejects_duplicate_shot_ids_and_renumbers() -> None:
    with pytest.raises(ValidationError):
        Project(id="p", title="t", shots=[Shot(id="shot_01", sequence=1), Shot(id="shot_01", sequence=2)])
    project = Project(id="p", title="t", shots=[Shot(id="shot_02", sequence=5), Shot(id="shot_01", sequence=9)])
    project.renumber()
    assert [s.sequence for s in project.shots] == [1, 2]
    assert project.next_shot_id() == "shot_03"


def test_camera_is_stored_as_the_chinese_label() -> None:
    shot = Shot(id="shot_01", sequence=1, camera="pull back")
    assert '"camera":"镜头后退"' in shot.model_dump_json()


@pytest.mark.parametrize(("text", "size"), [("9:16", (720, 1280)), ("16:9", (1280, 720)), ("1:1", (1080, 1080)),
                                             ("928*1664", (928, 1664)), ("640x360", (640, 360))])
def test_sizes(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


def test_odd_or_malformed_sizes_are_refused() -> None:
    for bad in ("721x1280", "big", "9:15"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_language_detection() -> None:
    assert detect_language("从前有座山。Hello") == "zh"
    assert detect_language("Once upon a time there was a hill.") == "en"


def test_slugify_is_safe_for_any_title() -> None:
    assert validate_id(slugify("The Last Lighthouse!"))
    assert slugify("灯笼").startswith("story-")


def test_events_round_trip_as_json_lines() -> None:
    event = StageFailed(shot_id="shot_01", stage="clip", error=ErrorInfo(code="x", message="m", hint="h"))
    again = EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert again == event
    assert isinstance(EVENT_ADAPTER.validate_json(RunFinished(status="done").model_dump_json()), RunFinished)


def test_registered_secrets_are_scrubbed_from_errors() -> None:
    register_secret("sk-very-secret-123")
    error = BadInputError("request with key sk-very-secret-123 failed", hint="key sk-very-secret-123")
    assert "sk-very-secret-123" not in str(error)
    assert redact("sk-very-secret-123") == "***"
