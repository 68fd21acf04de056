"""ComfyUI keyframe and clip backends against the ComfyUI fake: the happy paths and the error shapes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image

from s2v_tui.backends.base import ClipRequest, KeyframeRequest
from s2v_tui.backends.comfy.backends import ComfyClip, ComfyKeyframe, create_clip, create_keyframe
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import BackendError, TransientError
from s2v_tui.domain.shot import RemoteTask
from s2v_tui.media.probe import verify_video
from tests.backends.local_helpers import RecordingContext, wait_for
from tests.conftest import make_settings
from tests.fakes.comfy import ComfyFake
from tests.fakes.comfy_catalogue import DEFAULT_MODELS
from tests.fakes.media import png_bytes

pytestmark = pytest.mark.timeout(60)


def comfy_settings(*hosts: ComfyFake, **comfy: object):  # type: ignore[no-untyped-def]
    return make_settings(comfy={"hosts": [h.url for h in hosts], "poll_interval": 0.05, "stall_timeout": 1,
                                "reprobe_after": 0.5, "request_timeout": 5, **comfy})


def keyframe_request(seed: int = 42) -> KeyframeRequest:
    return KeyframeRequest(prompt="a lighthouse at night", negative_prompt="blurry", width=160, height=288,
                           seed=seed, style="", language="en", sequence=1, subject="lighthouse",
                           detail="a lighthouse", narration="The lamp was lit.")


def clip_request(keyframe: Path, duration: float = 2.0) -> ClipRequest:
    return ClipRequest(keyframe=keyframe, prompt="waves roll in", camera=CameraMove.PUSH_IN, duration=duration,
                       width=160, height=288, fps=10, seed=7, sequence=1)


@pytest.fixture
def comfy():  # type: ignore[no-untyped-def]
    server = ComfyFake().start()
    yield server
    server.stop()


async def test_t2i_through_one_host(comfy: ComfyFake, tmp_path: Path) -> None:
    backend = create_keyframe(comfy_settings(comfy))
    ctx = RecordingContext(tmp_path / "work")
    out = tmp_path / "keyframe.img"
    try:
        await backend.keyframe(keyframe_request(), out, ctx)
    finally:
        await backend.aclose()
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (160, 288)
    [submitted] = comfy.prompts
    graph = submitted["prompt"]
    assert graph["6"]["inputs"]["text"] == "a lighthouse at night"
    assert graph["7"]["inputs"]["text"] == "blurry"
    assert (graph["3"]["inputs"]["seed"], graph["5"]["inputs"]["width"], graph["5"]["inputs"]["height"]) == (42, 160, 288)
    assert submitted["client_id"], "events only reach the client_id given with the prompt"
    assert [t.task_id for t in ctx.remembered] == [submitted["prompt_id"]]
    assert ctx.remembered[0].extra["host"] == comfy.url and ctx.task is None, "remembered, then forgotten"
    sampler_progress = [f for f, message in ctx.progress_calls if "KSampler" in message]
    assert sampler_progress and sampler_progress == sorted(sampler_progress), "WebSocket progress reaches ctx"
    assert ctx.progress_calls[-1][0] == 1.0


async def test_i2v_through_one_host_uploads_the_keyframe(comfy: ComfyFake, tmp_path: Path) -> None:
    keyframe = tmp_path / "key.png"
    keyframe.write_bytes(png_bytes(160, 288, 3))
    backend = create_clip(comfy_settings(comfy))
    assert isinstance(backend, ComfyClip)
    seconds = backend.duration_for(2.0)
    out = tmp_path / "clip.mp4"
    try:
        result = await backend.clip(clip_request(keyframe, seconds), out, RecordingContext(tmp_path / "w"))
    finally:
        await backend.aclose()
    assert result.kind == "video"
    [(name, data)] = comfy.uploads.items()
    assert data == keyframe.read_bytes()
    graph = comfy.prompts[0]["prompt"]
    assert graph["5"]["inputs"]["image"] == name
    assert graph["9"]["inputs"]["length"] == 33 and (graph["9"]["inputs"]["length"] - 1) % 4 == 0
    assert graph["13"]["inputs"]["fps"] == 16
    info = verify_video(out)
    assert abs(info.duration - seconds) < 0.1, "the clip lasts what duration_for promised"


async def test_identical_resubmit_still_yields_a_fresh_file(comfy: ComfyFake, tmp_path: Path) -> None:
    backend = create_keyframe(comfy_settings(comfy))
    try:
        for index in range(2):
            await backend.keyframe(keyframe_request(), tmp_path / f"k{index}.png", RecordingContext(tmp_path / "w"))
    finally:
        await backend.aclose()
    prefixes = [p["prompt"]["9"]["inputs"]["filename_prefix"] for p in comfy.prompts]
    seeds = [p["prompt"]["3"]["inputs"]["seed"] for p in comfy.prompts]
    assert len(set(prefixes)) == 2 and seeds == [42, 42], "fresh output prefix, same deterministic seed"
    outputs = [key for key in comfy.files if key[0] == "output" and key[2].endswith(".png")]
    assert len(outputs) == 2


async def test_missing_model_names_node_input_and_host(tmp_path: Path) -> None:
    models = {**DEFAULT_MODELS, "checkpoints": ["sd_xl_base_1.0.safetensors"]}
    with ComfyFake(models=models) as comfy:
        backend = create_keyframe(comfy_settings(comfy))
        try:
            with pytest.raises(BackendError) as caught:
                await backend.keyframe(keyframe_request(), tmp_path / "k.png", RecordingContext(tmp_path / "w"))
        finally:
            await backend.aclose()
    error = caught.value
    assert not isinstance(error, TransientError), "a workflow problem is not retried"
    assert "node 4 (CheckpointLoaderSimple)" in error.message
    assert f"ckpt_name 'v1-5-pruned-emaonly.safetensors' not in list on host {comfy.url}" in error.message
    assert error.hint and "sd15_t2i.json" in error.hint


async def test_execution_error_fails_with_the_exception_message(comfy: ComfyFake, tmp_path: Path) -> None:
    other = ComfyFake().start()
    try:
        comfy.error_next("mat1 and mat2 shapes cannot be multiplied", exception_type="RuntimeError")
        backend = create_keyframe(comfy_settings(comfy, other))
        ctx = RecordingContext(tmp_path / "w")
        try:
            with pytest.raises(BackendError) as caught:
                await backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx)
        finally:
            await backend.aclose()
    finally:
        other.stop()
    assert not isinstance(caught.value, TransientError)
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in caught.value.message
    assert "node 3 (KSampler)" in caught.value.message and comfy.url in caught.value.message
    assert other.prompts == [], "a runtime error of the workflow is not retried on another host"
    assert ctx.remembered and ctx.task is None, "the failed prompt is not resumed by the next run"


async def test_follows_by_polling_when_the_websocket_drops(tmp_path: Path) -> None:
    with ComfyFake(step_delay=0.03) as comfy:
        backend = create_keyframe(comfy_settings(comfy))
        ctx = RecordingContext(tmp_path / "w")
        job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx))
        await wait_for(lambda: any("KSampler" in m for _, m in ctx.progress_calls), what="sampler progress")

        async def drop_sockets() -> None:
            for ws in list(comfy._sockets.values()):
                await ws.close()

        comfy.call_in_loop(drop_sockets())
        try:
            await asyncio.wait_for(job, 20)
        finally:
            await backend.aclose()
    Image.open(tmp_path / "k.png").verify()
    assert len(comfy.prompts) == 1, "a dropped socket never resubmits"
    assert any("reconnected" in message for _, message in ctx.logs)


async def test_binary_previews_and_unknown_events_are_ignored(tmp_path: Path) -> None:
    with ComfyFake(step_delay=0.03) as comfy:
        backend = create_keyframe(comfy_settings(comfy))
        ctx = RecordingContext(tmp_path / "w")
        job = asyncio.create_task(backend.keyframe(keyframe_request(), tmp_path / "k.png", ctx))
        await wait_for(lambda: any("KSampler" in m for _, m in ctx.progress_calls), what="sampler progress")

        async def send_oddities() -> None:
            for ws in list(comfy._sockets.values()):
                await ws.send_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x02" + png_bytes(8, 8))
                await ws.send_json({"type": "crystools.monitor", "data": {"cpu_utilization": 3}})
                await ws.send_str("not json")
                await ws.send_json(["not", "an", "object"])

        comfy.call_in_loop(send_oddities())
        try:
            await asyncio.wait_for(job, 20)
        finally:
            await backend.aclose()
    Image.open(tmp_path / "k.png").verify()
    assert not any("WebSocket" in message for _, message in ctx.logs), "the socket stayed up throughout"


async def test_resumes_a_prompt_remembered_by_an_earlier_run(comfy: ComfyFake, tmp_path: Path) -> None:
    backend = create_keyframe(comfy_settings(comfy))
    first = RecordingContext(tmp_path / "w1")
    try:
        await backend.keyframe(keyframe_request(), tmp_path / "a.png", first)
        remembered = first.remembered[0]
        again = RecordingContext(tmp_path / "w2", task=remembered)
        await backend.keyframe(keyframe_request(), tmp_path / "b.png", again)
        stale = RecordingContext(tmp_path / "w3", task=RemoteTask(provider="comfy", task_id="gone",
                                                                   input_hash="h" * 16, extra={"host": comfy.url}))
        await backend.keyframe(keyframe_request(), tmp_path / "c.png", stale)
    finally:
        await backend.aclose()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert len(comfy.prompts) == 2, "the remembered prompt was fetched, the unknown one submitted again"
    assert again.task is None and stale.task is None


async def test_keyframe_and_clip_backends_share_one_pool(comfy: ComfyFake) -> None:
    settings = comfy_settings(comfy)
    keyframe, clip = create_keyframe(settings), create_clip(settings)
    assert isinstance(keyframe, ComfyKeyframe)
    try:
        assert keyframe.pool() is clip.pool()
    finally:
        await keyframe.aclose()
        await clip.aclose()
    assert keyframe.info.lane == clip.info.lane == "comfy" and keyframe.info.paid_provider is None
    assert json.loads(json.dumps(keyframe.info.params))["workflow_sha256"]


# -- the clip asked for is the clip needed (issue 11 item 7) -----------------------------------------------
DOUBLED = {  # a weight-free i2v graph whose frame count is 2 × `amount`: the keyframe batched with itself
    "5": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
    "6": {"class_type": "ImageBatch", "inputs": {"image1": ["5", 0], "image2": ["5", 0]}},
    "7": {"class_type": "RepeatImageBatch", "inputs": {"image": ["6", 0], "amount": 1}},
    "8": {"class_type": "CreateVideo", "inputs": {"images": ["7", 0], "fps": 8.0}},
    "9": {"class_type": "SaveVideo", "inputs": {"video": ["8", 0], "filename_prefix": "x", "format": "auto",
                                                "codec": "auto"}},
}


async def doubled_clip(tmp_path: Path, comfy: ComfyFake, length: object) -> tuple[float, float, RecordingContext]:
    from tests.backends.test_comfy_workflow import write_workflow

    mapping = {"kind": "i2v", "output": "9", "frames": {"fps": 8, "step": 2, "min": 2, "max": 160},
               "inputs": {"image": ["5", "image"], "length": length, "fps": ["8", "fps"],
                          "prefix": ["9", "filename_prefix"]}}
    backend = create_clip(comfy_settings(comfy, i2v_workflow=str(write_workflow(tmp_path, mapping, DOUBLED))))
    keyframe = tmp_path / "key.png"
    keyframe.write_bytes(png_bytes(160, 288, 3))
    ctx = RecordingContext(tmp_path / "w")
    try:
        promised = backend.duration_for(1.9)
        await backend.clip(clip_request(keyframe, promised), tmp_path / "clip.mp4", ctx)
    finally:
        await backend.aclose()
    return promised, verify_video(tmp_path / "clip.mp4").duration, ctx


async def test_a_scaled_length_asks_for_exactly_the_clip_needed(comfy: ComfyFake, tmp_path: Path) -> None:
    promised, made, ctx = await doubled_clip(tmp_path, comfy, {"node": "7", "input": "amount", "scale": 0.5})
    assert promised == 2.0, "1.9 s covered by the fewest frames the rule allows: 16 at 8 fps"
    assert comfy.prompts[0]["prompt"]["7"]["inputs"]["amount"] == 8
    assert made == pytest.approx(promised, abs=0.07), "no 2× overshoot"
    assert not [m for level, m in ctx.logs if level == "warning"]


async def test_a_length_the_node_counts_differently_is_named(comfy: ComfyFake, tmp_path: Path) -> None:
    promised, made, ctx = await doubled_clip(tmp_path, comfy, ["7", "amount"])
    assert made == pytest.approx(2 * promised, abs=0.07)
    [warning] = [m for level, m in ctx.logs if level == "warning"]
    assert "32 frames where 16 were asked" in warning and "set its `scale` to about 0.5" in warning


async def test_the_bundled_flux_and_wan22_workflows_render(comfy: ComfyFake, tmp_path: Path) -> None:
    settings = comfy_settings(comfy, t2i_workflow="bundled:flux_t2i", i2v_workflow="bundled:wan22_i2v")
    keyframe, clip = create_keyframe(settings), create_clip(settings)
    try:
        await keyframe.keyframe(keyframe_request(), tmp_path / "k.png", RecordingContext(tmp_path / "w1"))
        seconds = clip.duration_for(2.0)
        await clip.clip(clip_request(tmp_path / "k.png", seconds), tmp_path / "c.mp4", RecordingContext(tmp_path / "w2"))
    finally:
        await keyframe.aclose()
        await clip.aclose()
    flux, wan = (p["prompt"] for p in comfy.prompts)
    assert flux["4"]["inputs"]["text"] == "a lighthouse at night" and flux["8"]["inputs"]["seed"] == 42
    assert wan["11"]["inputs"]["noise_seed"] == wan["12"]["inputs"]["noise_seed"] == 7
    assert wan["10"]["inputs"]["length"] == 33
    assert verify_video(tmp_path / "c.mp4").duration == pytest.approx(seconds, abs=0.1)
