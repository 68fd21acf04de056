"""Property-based: any bytes as project.json or as a story file give a `BadInputError` with a message —
never another exception, never a write (issue: trust, "tests the project keeps")."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.stories import read_story

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
PROJECT_KEYS = ["schema_version", "id", "title", "script", "style", "language", "format", "shots", "music",
                "render", "storyboard", "voice", "subtitles", "display_name", "script_content"]
SHOT_KEYS = ["id", "sequence", "subject", "detail", "narration", "camera", "tone", "stages", "duration", "locked"]
# Documents shaped like projects (so the fuzzing reaches the schema, not only the JSON parser).
PROJECTISH = st.fixed_dictionaries({}, optional={
    **{key: JSON_VALUES for key in PROJECT_KEYS},
    "shots": st.lists(st.fixed_dictionaries({}, optional={key: JSON_VALUES for key in SHOT_KEYS}), max_size=3)
    | st.lists(JSON_VALUES, max_size=3),
})


def _load_refuses_or_loads(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = ProjectFolder(Path(tmp) / "p")
        folder.path.mkdir()
        folder.json_path.write_bytes(raw)
        try:
            project = folder.load()
        except BadInputError as exc:
            assert exc.message.strip() and exc.hint, exc
        else:
            assert isinstance(project, Project)
        assert folder.json_path.read_bytes() == raw  # loading never writes
        assert sorted(p.name for p in folder.path.iterdir()) == ["project.json"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_as_project_json(raw: bytes) -> None:
    _load_refuses_or_loads(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(PROJECTISH, JSON_VALUES))
def test_any_json_as_project_json(document: object) -> None:
    _load_refuses_or_loads(json.dumps(document).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_as_a_story_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "story.txt"
        path.write_bytes(raw)
        try:
            text = read_story(path)
        except BadInputError as exc:
            assert exc.message.strip() and exc.hint, exc
        else:
            assert text.strip()
        assert path.read_bytes() == raw and sorted(p.name for p in Path(tmp).iterdir()) == ["story.txt"]
