"""A workflow ComfyUI refuses: the reason in words (issue 11 item 1), checked once per host and run, failing
every shot at once with one permanent error — nothing uploaded, nothing retried, no rerun advice (item 2)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from s2v_tui.backends.comfy.backends import create_clip, create_keyframe
from s2v_tui.backends.comfy.validation import Rejection, rejected
from s2v_tui.backends.comfy.workflow import load_workflow
from s2v_tui.domain.errors import TransientError, WorkflowRejectedError
from s2v_tui.domain.events import RunFinished
from s2v_tui.engine.engine import Engine
from s2v_tui.reporters import HumanReporter
from s2v_tui.storage.project_store import ProjectFolder
from tests.backends.local_helpers import RecordingContext
from tests.backends.test_comfy_backends import clip_request, comfy_settings, keyframe_request
from tests.backends.test_comfy_workflow import SWATCH, write_workflow
from tests.conftest import new_project
from tests.fakes.comfy import ComfyFake
from tests.fakes.comfy_catalogue import DEFAULT_MODELS
from tests.fakes.media import png_bytes
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(60)

NO_WAN = {**DEFAULT_MODELS, "diffusion_models": ["flux1-dev.safetensors"]}
"""A host without the Wan 2.1 UNet that the bundled i2v workflow loads."""


def bundled(kind: str) -> dict[str, Any]:
    return load_workflow(kind, None, None).render({})  # type: ignore[arg-type]


def broken(graph: dict[str, Any], node: str, **inputs: Any) -> dict[str, Any]:
    graph = json.loads(json.dumps(graph))
    for name, value in inputs.items():
        if value is None:
            del graph[node]["inputs"][name]
        else:
            graph[node]["inputs"][name] = value
    return graph


SAVE = {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}
CASES = [  # (graph sent to the fake, the problem s2v must show, a word of the fitting hint)
    (broken(SWATCH, "1", color=2147483647),
     "node 1 (EmptyImage): color: Value 2147483647 bigger than max of 16777215", "modulo"),
    (broken(SWATCH, "1", width=0), "node 1 (EmptyImage): width: Value 0 smaller than min of 1", "mapping"),
    (broken(SWATCH, "2", images=None), "node 2 (SaveImage): images: Required input is missing", "re-export"),
    (broken(SWATCH, "1", width="wide"),
     "node 1 (EmptyImage): width: Failed to convert an input value to a INT value (wide, invalid literal", "mapping"),
    (broken(bundled("t2i"), "4", ckpt_name="nope.safetensors"),
     "node 4 (CheckpointLoaderSimple): ckpt_name 'nope.safetensors' not in list", "models folder"),
    (broken(bundled("t2i"), "3", sampler_name="eulerr"),
     "node 3 (KSampler): sampler_name 'eulerr' not in list", "one of the values"),
    (broken(bundled("t2i"), "8", samples=["6", 0]),
     "node 8 (VAEDecode): samples: Return type mismatch between linked nodes (CONDITIONING != LATENT)", "re-export"),
    ({"1": {"class_type": "EmptyImagee", "inputs": {}}, "2": SAVE},
     "Cannot execute because node EmptyImagee does not exist (Node ID '#1')", "node pack"),
]


@pytest.mark.parametrize(("graph", "problem", "fix"), CASES)
async def test_validation_errors_say_why_and_what_to_change(graph: dict[str, Any], problem: str, fix: str) -> None:
    with ComfyFake() as comfy:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{comfy.url}/prompt", json={"prompt": graph})
    assert response.status_code == 400
    error = rejected({comfy.url: Rejection.of(response.json())}, "mine.json")
    assert f"{problem}" in error.message and error.message.endswith(f"on host {comfy.url}")
    assert error.hint and fix in error.hint
    if fix != "models folder":
        assert "install the missing model" not in error.hint


def swatch_backend(tmp_path: Path, comfy: ComfyFake, transform: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    mapping = {"kind": "t2i", "output": "2", "inputs": {"seed": {"node": "1", "input": "color", **(transform or {})},
                                                        "width": ["1", "width"], "height": ["1", "height"]}}
    path = write_workflow(tmp_path, mapping, SWATCH, name="swatch.json")
    return create_keyframe(comfy_settings(comfy, t2i_workflow=str(path)))


@pytest.mark.parametrize("schemas", ["precheck", "server only"])
async def test_a_seed_out_of_range_names_input_reason_and_the_mapping(tmp_path: Path, schemas: str) -> None:
    with ComfyFake() as comfy:
        if schemas == "server only":  # a host that does not describe its nodes: /prompt's 400 says it
            comfy.faults.add("GET /object_info/{class}", *[Fault(status=404)] * 2)
        backend = swatch_backend(tmp_path, comfy)
        try:
            with pytest.raises(WorkflowRejectedError) as caught:
                await backend.keyframe(keyframe_request(seed=2147483647), tmp_path / "k.png",
                                       RecordingContext(tmp_path / "w"))
        finally:
            await backend.aclose()
        posted = len(comfy.requests_to("POST", "/prompt"))
    assert "node 1 (EmptyImage): color: Value 2147483647 bigger than max of 16777215" in caught.value.message
    assert caught.value.hint and "swatch.json or its mapping" in caught.value.hint and "modulo" in caught.value.hint
    assert posted == (0 if schemas == "precheck" else 1)


async def test_the_modulo_transform_fits_the_seed_and_the_picture_renders(tmp_path: Path) -> None:
    with ComfyFake() as comfy:
        backend = swatch_backend(tmp_path, comfy, {"modulo": 16777216})
        try:
            await backend.keyframe(keyframe_request(seed=2147483647), tmp_path / "k.png",
                                   RecordingContext(tmp_path / "w"))
        finally:
            await backend.aclose()
    assert comfy.prompts[0]["prompt"]["1"]["inputs"]["color"] == 2147483647 % 16777216
    assert (tmp_path / "k.png").stat().st_size > 0


def keyframes(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"key{index}.png"
        path.write_bytes(png_bytes(160, 288, index))
        paths.append(path)
    return paths


async def render_clips(backend: Any, tmp_path: Path, count: int) -> list[BaseException | None]:
    async def one(index: int, key: Path) -> None:
        await backend.clip(clip_request(key), tmp_path / f"c{index}.mp4", RecordingContext(tmp_path / f"w{index}"))

    try:
        return await asyncio.gather(*(one(i, k) for i, k in enumerate(keyframes(tmp_path, count))),
                                    return_exceptions=True)
    finally:
        await backend.aclose()


async def test_missing_model_fails_every_shot_at_once_before_any_upload(tmp_path: Path) -> None:
    with ComfyFake(models=NO_WAN) as comfy:
        results = await render_clips(create_clip(comfy_settings(comfy, per_host_concurrency=4)), tmp_path, 4)
    assert all(isinstance(r, WorkflowRejectedError) and not isinstance(r, TransientError) for r in results)
    assert len({r.message for r in results if r is not None}) == 1, "one message for every shot"
    assert "unet_name 'wan2.1_i2v_480p_14B_fp8_e4m3fn.safetensors' not in list" in str(results[0])
    assert comfy.uploads == {} and comfy.requests_to("POST", "/prompt") == []


async def test_a_refusal_only_the_server_sees_is_asked_once_per_host(tmp_path: Path) -> None:
    with ComfyFake(models=NO_WAN) as comfy:
        classes = {node["class_type"] for node in bundled("i2v").values()}
        comfy.faults.add("GET /object_info/{class}", *[Fault(status=404)] * len(classes))  # no schemas to check
        results = await render_clips(create_clip(comfy_settings(comfy, per_host_concurrency=4)), tmp_path, 4)
    assert all(isinstance(r, WorkflowRejectedError) for r in results)
    assert len({str(r) for r in results}) == 1
    assert len(comfy.requests_to("POST", "/prompt")) == 1, "the first shot asked; the others learnt the answer"
    assert len(comfy.uploads) == 1, "only the first shot's keyframe went up"


async def test_a_host_without_the_model_is_left_out_for_that_workflow(tmp_path: Path) -> None:
    with ComfyFake(models=NO_WAN) as lacking, ComfyFake() as full:
        backend = create_clip(comfy_settings(lacking, full))
        ctxs = [RecordingContext(tmp_path / f"w{i}") for i in range(2)]
        try:
            for index, (key, ctx) in enumerate(zip(keyframes(tmp_path, 2), ctxs, strict=True)):
                await backend.clip(clip_request(key), tmp_path / f"c{index}.mp4", ctx)
        finally:
            await backend.aclose()
    assert lacking.uploads == {} and lacking.requests_to("POST", "/prompt") == []
    assert len(full.prompts) == 2
    said = [m for ctx in ctxs for level, m in ctx.logs if level == "warning" and lacking.url in m]
    assert len(said) == 1 and "left out for this workflow" in said[0] and "unet_name" in said[0]


async def test_a_run_reports_one_permanent_failure_without_retries_or_rerun_advice(tmp_path: Path) -> None:
    with ComfyFake(models=NO_WAN) as comfy:
        settings = comfy_settings(comfy)
        settings.backends.clip = "comfy"
        for stage in ("storyboard", "keyframe", "voice"):
            setattr(settings.backends, stage, "fake")
        folder = ProjectFolder(tmp_path / "p").lock()
        engine = Engine(folder, settings)
        out = io.StringIO()
        reporter = HumanReporter(out)
        try:
            async for event in engine.run(new_project()):
                reporter.event(event)
                summary = event
        finally:
            await engine.aclose()
            folder.unlock()
    assert isinstance(summary, RunFinished) and summary.status == "failed"
    shots = [f.shot_id for f in summary.failures]
    assert len(shots) >= 2 and {f.stage for f in summary.failures} == {"clip"}
    assert {f.error.code for f in summary.failures} == {"workflow_rejected"}
    text = out.getvalue()
    assert "retrying" not in text and "run the same command again" not in text
    assert f"✗ {', '.join(shots)} clip: ComfyUI rejected the workflow" in text, "the summary says it once"
    assert text.count("ComfyUI rejected the workflow") == 2, "once as it happens, once in the summary"
    assert f"✗ {shots[1]} clip: the same error as {shots[0]}" in text
    assert comfy.uploads == {} and comfy.requests_to("POST", "/prompt") == []


DANGLING = {**SWATCH, "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "absent.safetensors"}}}


@pytest.mark.parametrize("graph", [case[0] for case in CASES] + [DANGLING, SWATCH])
async def test_the_precheck_finds_what_the_server_would(graph: dict[str, Any]) -> None:
    from s2v_tui.backends.comfy.precheck import precheck

    with ComfyFake() as comfy:
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{comfy.url}/prompt", json={"prompt": graph})
            schemas = (await client.get(f"{comfy.url}/object_info")).json()
    found = precheck(graph, schemas)
    if answer.status_code == 200:  # a node no output depends on is not validated, by either
        assert found is None
    else:
        assert found is not None and set(Rejection.of(found).problems) == set(Rejection.of(answer.json()).problems)
