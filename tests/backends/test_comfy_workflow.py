"""Workflow templates as user files: loading, validation at load time, patching, size and frame rules."""

from __future__ import annotations

import json
import re
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


# -- the mapping format: optional prompt, constants, transforms (issue 11 item 6) ----------------------
SWATCH = {  # a text-free t2i graph: a plain colour picture whose colour is the shot's seed
    "1": {"class_type": "EmptyImage", "inputs": {"width": 512, "height": 512, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
}
SWATCH_MAPPING = {"kind": "t2i", "output": "2",
                  "inputs": {"seed": {"node": "1", "input": "color", "modulo": 16777216},
                             "width": ["1", "width"], "height": ["1", "height"], "prefix": ["2", "filename_prefix"]},
                  "constants": {"1": {"batch_size": 1}}}


def test_a_graph_without_text_needs_no_prompt_and_takes_transforms(tmp_path: Path) -> None:
    template = load_workflow("t2i", str(write_workflow(tmp_path, SWATCH_MAPPING, SWATCH)), None)
    graph = template.render(template.shot_values(prompt="ignored", seed=2**31 - 2, width=160, height=288))
    assert graph["1"]["inputs"] == {"width": 160, "height": 288, "batch_size": 1, "color": (2**31 - 2) % 2**24}
    assert template.graph["1"]["inputs"]["color"] == 0, "render must not mutate the template"


def test_transforms_apply_scale_then_modulo_then_clamp(tmp_path: Path) -> None:
    graph = {**SWATCH, "3": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 1}}}
    mapping = {"kind": "t2i", "output": "2", "inputs": {
        "seed": [{"node": "1", "input": "color", "scale": 3, "modulo": 100, "clamp": [10, 50]},
                 {"node": "1", "input": "batch_size", "modulo": 4, "clamp": [1, 4]}],
        "width": {"node": "3", "input": "amount", "scale": 0.1}}}
    template = load_workflow("t2i", str(write_workflow(tmp_path, mapping, graph)), None)
    patched = template.render({"seed": 39, "width": 161})
    assert patched["1"]["inputs"]["color"] == 17  # 39 × 3 = 117 → mod 100 = 17 → within [10, 50]
    assert patched["1"]["inputs"]["batch_size"] == 3
    assert patched["3"]["inputs"]["amount"] == 17, "a whole-number point is rounded up after scaling"
    assert template.render({"seed": 30})["1"]["inputs"]["color"] == 50, "clamped to the top"


@pytest.mark.parametrize(("change", "expected"), [
    ({"inputs": {"prompt": {"node": "6", "input": "text", "scale": 2}}}, "'prompt' is text"),
    ({"inputs": {"prompt": ["6", "text"], "seed": {"node": "6", "input": "text", "modulo": 0}}},
     "inputs.seed.0.modulo"),
    ({"inputs": {"prompt": ["6", "text"], "seed": {"node": "6", "input": "text", "clamp": [5, 1]}}}, "low <= high"),
    ({"inputs": {"prompt": ["6", "text"], "seed": {"node": "6", "input": "text", "offset": 3}}}, "inputs.seed.0.offset"),
    ({"inputs": {"prompt": ["6", "text"]}, "constants": {"6": {"txt": "x"}}}, "a constant names input 'txt'"),
    ({"inputs": {"prompt": ["6", "text"]}, "constants": {"60": {"text": "x"}}}, "a constant names node '60'"),
    ({"inputs": {"prompt": ["6", "text"]}, "constants": {"6": {"text": "x"}}}, "both a constant and the patch point"),
])
def test_bad_transforms_and_constants_are_config_errors(tmp_path: Path, change: dict, expected: str) -> None:
    path = write_workflow(tmp_path, {"kind": "t2i", "output": "9", **change})
    with pytest.raises(ConfigError) as caught:
        load_workflow("t2i", str(path), None)
    assert expected in caught.value.message


def test_a_prompt_input_left_unmapped_is_named_unless_pinned(tmp_path: Path) -> None:
    unmapped = write_workflow(tmp_path, {"kind": "t2i", "output": "9", "inputs": {"seed": ["4", "ckpt_name"]}})
    with pytest.raises(ConfigError) as caught:
        load_workflow("t2i", str(unmapped), None)
    assert "node 6 (CLIPTextEncode) has a text input 'text'" in caught.value.message
    assert caught.value.hint and '"prompt": ["6", "text"]' in caught.value.hint
    pinned = write_workflow(tmp_path, {"kind": "t2i", "output": "9", "inputs": {},
                                       "constants": {"6": {"text": "the same for every shot"}}}, name="pinned.json")
    assert load_workflow("t2i", str(pinned), None).render({})["6"]["inputs"]["text"] == "the same for every shot"


def test_length_takes_only_an_exact_scale(tmp_path: Path) -> None:
    graph = {"5": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
             "8": {"class_type": "RepeatImageBatch", "inputs": {"image": ["5", 0], "amount": 1}},
             "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}}}
    base = {"kind": "i2v", "output": "9", "frames": {"fps": 8, "step": 3, "offset": 0, "min": 3, "max": 30}}
    inputs = {"image": ["5", "image"], "length": {"node": "8", "input": "amount", "scale": 0.5}}
    with pytest.raises(ConfigError, match=r"frames.step 3 × scale 0.5 is not a whole number"):
        load_workflow("i2v", str(write_workflow(tmp_path, {**base, "inputs": inputs}, graph)), None)
    clamped = {**inputs, "length": {"node": "8", "input": "amount", "clamp": [1, 10]}}
    with pytest.raises(ConfigError, match="'length' takes only `scale`"):
        load_workflow("i2v", str(write_workflow(tmp_path, {**base, "inputs": clamped}, graph)), None)


def test_bundled_workflows_by_name() -> None:
    flux = load_workflow("t2i", "bundled:flux_t2i", None)
    assert flux.model == "flux1-dev.safetensors" and flux.source == "bundled flux_t2i.json"
    graph = flux.render(flux.shot_values(prompt="灯塔", seed=5, width=720, height=1280))
    assert graph["4"]["inputs"]["text"] == "灯塔" and graph["6"]["inputs"]["text"] == ""
    assert graph["7"]["inputs"]["width"] % 16 == 0 and graph["8"]["inputs"]["cfg"] == 1.0
    wan = load_workflow("i2v", "bundled:wan22_i2v.json", None)
    patched = wan.render(wan.shot_values(prompt="waves", seed=9, width=720, height=1280, seconds=3.0))
    assert patched["11"]["inputs"]["noise_seed"] == patched["12"]["inputs"]["noise_seed"] == 9
    assert patched["10"]["inputs"]["length"] == 49 and patched["11"]["inputs"]["end_at_step"] == 10
    with pytest.raises(ConfigError, match="bundled:wan22_i2v"):
        load_workflow("i2v", "bundled:wan23", None)


def test_the_readme_shows_the_bundled_flux_and_wan22_mappings_as_shipped() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", readme, flags=re.S)]
    for name in ("flux_t2i", "wan22_i2v"):
        template = load_workflow(name.rsplit("_", 1)[1], f"bundled:{name}", None)  # type: ignore[arg-type]
        assert template.mapping.model_dump() in [type(template.mapping).model_validate(m).model_dump() for m in shown]
