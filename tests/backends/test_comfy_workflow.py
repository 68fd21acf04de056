"""Workflow templates as user files: loading, validation at load time, patching, size and frame rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2v_tui.backends.comfy.backends import create_clip, create_keyframe
from s2v_tui.backends.comfy.workflow import load_workflow
from s2v_tui.domain.errors import ConfigError
from tests.conftest import make_settings

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "a cat"}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["6", 0]}},
}


def write_workflow(folder: Path, mapping: dict, graph: dict | None = None, name: str = "mine.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(graph or GRAPH), encoding="utf-8")
    path.with_name(name.removesuffix(".json") + ".mapping.json").write_text(json.dumps(mapping), encoding="utf-8")
    return path


def test_bundled_templates_load_and_patch() -> None:
    t2i = load_workflow("t2i", None, None)
    graph = t2i.render({"prompt": "a lighthouse", "seed": 7, "width": 464, "height": 832, "prefix": "s2v/x"})
    assert graph["6"]["inputs"]["text"] == "a lighthouse"
    assert (graph["3"]["inputs"]["seed"], graph["5"]["inputs"]["width"], graph["5"]["inputs"]["height"]) == (7, 464, 832)
    assert graph["9"]["inputs"]["filename_prefix"] == "s2v/x"
    assert t2i.graph["6"]["inputs"]["text"] != "a lighthouse", "render must not mutate the template"
    assert t2i.model == "v1-5-pruned-emaonly.safetensors"
    i2v = load_workflow("i2v", None, None)
    assert i2v.mapping.output == "14" and i2v.model and "wan2.1" in i2v.model


def test_size_and_frame_rules_of_the_wan_template() -> None:
    i2v = load_workflow("i2v", None, None)
    width, height = i2v.fit_size(720, 1280)
    assert width % 16 == 0 and height % 16 == 0 and width * height <= 832 * 480
    assert abs(width / height - 720 / 1280) < 0.02
    assert i2v.fit_size(160, 288) == (160, 288)
    assert [i2v.frame_count(s) for s in (0.1, 2.0, 3.3, 60.0)] == [5, 33, 53, 81]
    assert all((i2v.frame_count(s / 10) - 1) % 4 == 0 for s in range(1, 100))


def test_user_workflow_with_sidecar_mapping(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, {"kind": "t2i", "inputs": {"prompt": ["6", "text"]}, "output": 9})
    template = load_workflow("t2i", str(path), None)
    assert template.render({"prompt": "hi", "seed": 3})["6"]["inputs"]["text"] == "hi"
    assert template.source == str(path)


@pytest.mark.parametrize(("mapping", "expected"), [
    ({"kind": "t2i", "inputs": {"prompt": ["60", "text"]}, "output": "9"}, "names node '60'"),
    ({"kind": "t2i", "inputs": {"prompt": ["6", "txt"]}, "output": "9"}, "input 'txt' of node 6 (CLIPTextEncode)"),
    ({"kind": "t2i", "inputs": {"prompt": ["6", "text"]}, "output": "99"}, "output node '99'"),
    ({"kind": "t2i", "inputs": {"prompt": ["6", "text"], "sead": ["6", "text"]}, "output": "9"},
     "unknown patch point 'sead'"),
    ({"kind": "t2i", "inputs": {"prefix": ["9", "filename_prefix"]}, "output": "9"}, "sets no 'prompt'"),
    ({"kind": "i2v", "inputs": {"prompt": ["6", "text"]}, "output": "9"}, "configured as t2i"),
    ({"kind": "t2i", "inputs": {"prompt": ["6", "text"]}}, "output"),
])
def test_bad_mapping_is_a_config_error_naming_the_problem(tmp_path: Path, mapping: dict, expected: str) -> None:
    path = write_workflow(tmp_path, mapping)
    with pytest.raises(ConfigError) as caught:
        load_workflow("t2i", str(path), None)
    assert expected in caught.value.message
    assert "mine.mapping.json" in caught.value.message


def test_ui_format_missing_file_and_bad_json_are_config_errors(tmp_path: Path) -> None:
    ui = write_workflow(tmp_path, {"kind": "t2i", "inputs": {"prompt": ["6", "text"]}, "output": "9"},
                        graph={"nodes": [], "links": [], "version": 0.4}, name="ui.json")
    with pytest.raises(ConfigError, match="UI workflow, not the API format"):
        load_workflow("t2i", str(ui), None)
    with pytest.raises(ConfigError, match="does not exist"):
        load_workflow("t2i", str(tmp_path / "absent.json"), None)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        load_workflow("t2i", str(tmp_path / "broken.json"), None)


def test_backends_validate_their_workflow_when_created(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, {"kind": "i2v", "inputs": {"prompt": ["6", "text"], "image": ["5", "image"]},
                                     "output": "9"})
    settings = make_settings(comfy={"i2v_workflow": str(path)})
    with pytest.raises(ConfigError, match="names node '5'"):
        create_clip(settings)
    assert create_keyframe(make_settings()).info.lane == "comfy"
