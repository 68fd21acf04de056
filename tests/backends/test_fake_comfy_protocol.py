"""Fidelity tests for `tests.fakes.comfy.ComfyFake` against ComfyUI's wire protocol (protocols.md §6, §10).

HTTP through httpx, the WebSocket through websocket-client, as a real client would.
"""

from __future__ import annotations

import copy
import io
import json
import time
from typing import Any

import av
import httpx
import pytest
import websocket
from PIL import Image

from tests.fakes.comfy import ComfyFake
from tests.fakes.media import png_bytes
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)

T2I: dict[str, Any] = {
    "3": {"class_type": "KSampler", "inputs": {"cfg": 8, "denoise": 1, "latent_image": ["5", 0], "model": ["4", 0],
                                               "negative": ["7", 0], "positive": ["6", 0], "sampler_name": "euler",
                                               "scheduler": "normal", "seed": 8566257, "steps": 20}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"batch_size": 1, "height": 384, "width": 512}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "masterpiece best quality girl"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "bad hands"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}

I2V: dict[str, Any] = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan2.1_i2v_480p_14B_fp8_e4m3fn.safetensors",
                                                 "weight_dtype": "default"}},
    "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors", "type": "wan"}},
    "3": {"class_type": "VAELoader", "inputs": {"vae_name": "wan_2.1_vae.safetensors"}},
    "4": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "clip_vision_h.safetensors"}},
    "5": {"class_type": "LoadImage", "inputs": {"image": "uploaded.png"}},
    "6": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["4", 0], "image": ["5", 0], "crop": "none"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": "a cat walks"}},
    "8": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": "blurry, static"}},
    "9": {"class_type": "WanImageToVideo", "inputs": {"positive": ["7", 0], "negative": ["8", 0], "vae": ["3", 0],
                                                      "clip_vision_output": ["6", 0], "start_image": ["5", 0],
                                                      "width": 832, "height": 480, "length": 81, "batch_size": 1}},
    "10": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["1", 0], "shift": 8.0}},
    "11": {"class_type": "KSampler", "inputs": {"model": ["10", 0], "positive": ["9", 0], "negative": ["9", 1],
                                                "latent_image": ["9", 2], "seed": 42, "steps": 20, "cfg": 6.0,
                                                "sampler_name": "uni_pc", "scheduler": "simple", "denoise": 1.0}},
    "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["3", 0]}},
    "13": {"class_type": "CreateVideo", "inputs": {"images": ["12", 0], "fps": 16.0}},
    "14": {"class_type": "SaveVideo", "inputs": {"video": ["13", 0], "filename_prefix": "video/wan",
                                                 "format": "auto", "codec": "auto"}},
}


@pytest.fixture
def comfy():
    with ComfyFake() as server:
        yield server


@pytest.fixture
def http(comfy: ComfyFake):
    with httpx.Client(base_url=comfy.url, timeout=5) as client:
        yield client


_OPEN: list[websocket.WebSocket] = []


@pytest.fixture(autouse=True)
def _close_websockets():
    yield
    while _OPEN:
        _OPEN.pop().close()


def connect(comfy: ComfyFake, client_id: str) -> websocket.WebSocket:
    ws = websocket.create_connection(f"{comfy.ws_url}/ws?clientId={client_id}", timeout=5)
    _OPEN.append(ws)
    first = json.loads(ws.recv())
    assert first == {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}}
    return ws


def read_until_done(ws: websocket.WebSocket, prompt_id: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        msg = json.loads(ws.recv())
        messages.append(msg)
        if msg["type"] == "executing" and msg["data"]["node"] is None and msg["data"]["prompt_id"] == prompt_id:
            return messages


def wait_for_node(ws: websocket.WebSocket, node: str) -> None:
    """Read until `node` is running (its progress_state says so); messages before that are dropped."""
    while True:
        msg = json.loads(ws.recv())
        if msg["type"] == "progress_state" and msg["data"]["nodes"].get(node, {}).get("state") == "running":
            return


def submit(http: httpx.Client, graph: dict[str, Any], client_id: str | None = "c1", **extra: Any) -> str:
    body = {"prompt": graph, **extra}
    if client_id is not None:
        body["client_id"] = client_id
    rsp = http.post("/prompt", json=body)
    assert rsp.status_code == 200, rsp.text
    assert rsp.json()["node_errors"] == {} and isinstance(rsp.json()["number"], (int, float))
    return rsp.json()["prompt_id"]


def upload(http: httpx.Client, name: str, data: bytes, **fields: str) -> dict[str, Any]:
    rsp = http.post("/upload/image", files={"image": (name, data, "image/png")}, data=fields)
    assert rsp.status_code == 200, rsp.text
    return rsp.json()


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages if m["type"] not in ("progress", "progress_state")]


def test_t2i_sequence_history_and_view(comfy: ComfyFake, http: httpx.Client) -> None:
    assert upload(http, "ref.png", png_bytes(64, 64)) == {"name": "ref.png", "subfolder": "", "type": "input"}
    ws = connect(comfy, "c1")
    pid = submit(http, T2I)
    msgs = read_until_done(ws, pid)
    order = ["5", "4", "7", "6", "3", "8", "9"]  # dependencies first
    assert kinds(msgs) == ["status", "status", "execution_start", "execution_cached",
                           *["executing"] * len(order), "executed", "execution_success", "status", "executing"]
    assert [m["data"]["status"]["exec_info"]["queue_remaining"] for m in msgs[:2]] == [1, 1]
    assert [m["data"]["node"] for m in msgs if m["type"] == "executing"] == [*order, None]
    assert msgs[-1]["data"] == {"node": None, "prompt_id": pid}
    assert kinds(msgs)[-2] == "status" and msgs[-2]["data"]["status"]["exec_info"]["queue_remaining"] == 0
    progress = [m["data"] for m in msgs if m["type"] == "progress"]
    assert [p["value"] for p in progress] == list(range(1, 21)) and {p["node"] for p in progress} == {"3"}
    assert all(p["max"] == 20 and p["prompt_id"] == pid for p in progress)
    state = [m for m in msgs if m["type"] == "progress_state"][-1]["data"]
    assert state["prompt_id"] == pid and state["nodes"]["9"]["state"] == "finished"
    executed = next(m["data"] for m in msgs if m["type"] == "executed")
    image = {"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"}
    assert executed == {"node": "9", "display_node": "9", "output": {"images": [image]}, "prompt_id": pid}

    entry = http.get(f"/history/{pid}").json()[pid]
    assert entry["outputs"] == {"9": {"images": [image]}}
    assert entry["prompt"][1] == pid and entry["prompt"][2] == T2I and entry["prompt"][3]["client_id"] == "c1"
    assert entry["prompt"][4] == ["9"]
    assert entry["status"]["status_str"] == "success" and entry["status"]["completed"] is True
    assert [m[0] for m in entry["status"]["messages"]] == ["execution_start", "execution_cached", "execution_success"]
    assert entry["meta"]["9"]["node_id"] == "9"
    assert pid in http.get("/api/history").json()

    view = http.get("/view", params=image)
    assert view.status_code == 200 and view.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(view.content)).size == (512, 384)
    assert http.get("/api/view", params={**image, "filename": "nope.png"}).status_code == 404
    assert http.get("/view", params={**image, "filename": "../x.png"}).status_code == 400
    assert http.get("/view", params={**image, "subfolder": ".."}).status_code == 403
    ref = http.get("/view", params={"filename": "ref.png", "type": "input"})
    assert ref.content == png_bytes(64, 64)


def test_history_empty_until_done_and_unknown(comfy: ComfyFake, http: httpx.Client) -> None:
    assert http.get("/history/unknown").json() == {}
    ws = connect(comfy, "watcher")
    comfy.stall_next()
    pid = submit(http, T2I, client_id=None)
    wait_for_node(ws, "3")  # client-less prompts broadcast progress_state, which shows the stalled sampler
    assert http.get(f"/history/{pid}").json() == {}
    queue = http.get("/queue").json()
    assert [row[1] for row in queue["queue_running"]] == [pid] and queue["queue_pending"] == []
    assert http.get("/prompt").json() == {"exec_info": {"queue_remaining": 1}}


def test_i2v_wan_save_video(comfy: ComfyFake, http: httpx.Client) -> None:
    upload(http, "uploaded.png", png_bytes(832, 480, 3))
    ws = connect(comfy, "c2")
    pid = submit(http, I2V, client_id="c2")
    msgs = read_until_done(ws, pid)
    assert kinds(msgs)[-3:] == ["execution_success", "status", "executing"]
    outputs = http.get(f"/history/{pid}").json()[pid]["outputs"]
    saved = {"filename": "wan_00001_.mp4", "subfolder": "video", "type": "output"}
    assert outputs == {"14": {"images": [saved], "animated": [True]}}
    rsp = http.get("/view", params=saved)
    assert rsp.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(rsp.content)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (208, 120)
        assert float(stream.average_rate) == pytest.approx(16.0)
    assert frames == 81


def test_vhs_video_combine_reports_gifs(comfy: ComfyFake, http: httpx.Client) -> None:
    graph = copy.deepcopy(I2V)
    upload(http, "uploaded.png", png_bytes(64, 64))
    graph["9"]["inputs"]["length"] = 9
    del graph["13"], graph["14"]
    graph["15"] = {"class_type": "VHS_VideoCombine", "inputs": {
        "images": ["12", 0], "frame_rate": 8, "loop_count": 0, "filename_prefix": "clips/shot",
        "format": "video/h264-mp4", "pingpong": False, "save_output": True, "pix_fmt": "yuv420p", "crf": 19}}
    ws = connect(comfy, "c3")
    pid = submit(http, graph, client_id="c3")
    read_until_done(ws, pid)
    gif = http.get(f"/history/{pid}").json()[pid]["outputs"]["15"]["gifs"][0]
    assert (gif["filename"], gif["subfolder"], gif["type"]) == ("shot_00001.mp4", "clips", "output")
    assert gif["format"] == "video/h264-mp4" and gif["frame_rate"] == 8
    data = http.get("/view", params={k: gif[k] for k in ("filename", "subfolder", "type")}).content
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 9


@pytest.mark.parametrize("mutate, error_type, node, err_type", [
    (lambda g: g["4"]["inputs"].update(ckpt_name="x.safetensors"), "prompt_outputs_failed_validation", "4",
     "value_not_in_list"),
    (lambda g: g["5"]["inputs"].pop("width"), "prompt_outputs_failed_validation", "5", "required_input_missing"),
    (lambda g: g["5"]["inputs"].update(width=99999), "prompt_outputs_failed_validation", "5", "value_bigger_than_max"),
    (lambda g: g["5"]["inputs"].update(width="wide"), "prompt_outputs_failed_validation", "5", "invalid_input_type"),
    (lambda g: g["8"]["inputs"].update(vae=["4", 0]), "prompt_outputs_failed_validation", "8", "return_type_mismatch"),
    (lambda g: g["8"]["inputs"].update(samples=["99", 0]), "prompt_outputs_failed_validation", "8",
     "exception_during_inner_validation"),
    (lambda g: g["3"].update(class_type="NoSuchNode"), "invalid_prompt", None, None),
    (lambda g: g.pop("9"), "prompt_no_outputs", None, None),
])
def test_validation_errors(http: httpx.Client, mutate: Any, error_type: str, node: str | None,
                           err_type: str | None) -> None:
    graph = copy.deepcopy(T2I)
    mutate(graph)
    rsp = http.post("/prompt", json={"prompt": graph, "client_id": "c1"})
    assert rsp.status_code == 400
    body = rsp.json()
    assert body["error"]["type"] == error_type
    if node is None:
        assert body["node_errors"] == {}
        return
    err = body["node_errors"][node]
    assert err["errors"][0]["type"] == err_type and err["dependent_outputs"] == ["9"]
    assert err["class_type"] == graph[node]["class_type"]


def test_value_not_in_list_details(http: httpx.Client) -> None:
    graph = copy.deepcopy(T2I)
    graph["4"]["inputs"]["ckpt_name"] = "x.safetensors"
    err = http.post("/prompt", json={"prompt": graph}).json()["node_errors"]["4"]["errors"][0]
    assert err["message"] == "Value not in list"
    assert err["details"].startswith("ckpt_name: 'x.safetensors' not in [")
    assert "v1-5-pruned-emaonly.safetensors" in err["details"]
    assert err["extra_info"]["input_name"] == "ckpt_name" and err["extra_info"]["received_value"] == "x.safetensors"


def test_missing_models_folder_and_loadimage(http: httpx.Client) -> None:
    with ComfyFake(models={"checkpoints": []}) as empty, httpx.Client(base_url=empty.url) as client:
        err = client.post("/prompt", json={"prompt": T2I}).json()["node_errors"]["4"]["errors"][0]
        assert err["details"] == "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in []"
    rsp = http.post("/prompt", json={"prompt": I2V})
    errors = rsp.json()["node_errors"]["5"]["errors"]
    assert rsp.status_code == 400 and errors[0]["type"] == "custom_validation_failed"
    assert errors[0]["details"] == "image - Invalid image file: uploaded.png"


def test_malformed_and_missing_prompt(http: httpx.Client) -> None:
    rsp = http.post("/prompt", content=b"{not json", headers={"Content-Type": "application/json"})
    assert rsp.status_code == 500 and rsp.headers["content-type"].startswith("text/plain")
    rsp = http.post("/prompt", json={"client_id": "x"})
    assert rsp.status_code == 400 and rsp.json()["error"]["type"] == "no_prompt"


def test_v3_nodes_not_validated_then_fail_at_run_time(comfy: ComfyFake, http: httpx.Client) -> None:
    upload(http, "uploaded.png", png_bytes(64, 64))
    graph = copy.deepcopy(I2V)
    graph["9"]["inputs"]["length"] = 5
    graph["14"]["inputs"]["format"] = "mkv"
    ws = connect(comfy, "c1")
    pid = submit(http, graph)
    msgs = read_until_done(ws, pid)
    error = next(m["data"] for m in msgs if m["type"] == "execution_error")
    assert error["node_id"] == "14" and error["node_type"] == "SaveVideo" and "mkv" in error["exception_message"]


def test_error_next(comfy: ComfyFake, http: httpx.Client) -> None:
    ws = connect(comfy, "c1")
    comfy.error_next("boom", exception_type="RuntimeError")
    pid = submit(http, T2I)
    msgs = read_until_done(ws, pid)
    assert "execution_success" not in kinds(msgs)
    assert kinds(msgs)[-3:] == ["execution_error", "status", "executing"]
    error = next(m["data"] for m in msgs if m["type"] == "execution_error")
    assert error["prompt_id"] == pid and error["node_id"] == "3" and error["node_type"] == "KSampler"
    assert error["exception_message"] == "boom\n" and error["exception_type"] == "RuntimeError"
    assert set(error["executed"]) == {"4", "5", "6", "7"} and isinstance(error["traceback"], list)
    entry = http.get(f"/history/{pid}").json()[pid]
    assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False
    assert entry["outputs"] == {} and entry["status"]["messages"][-1][0] == "execution_error"
    # the next prompt is fine again, and upstream nodes come from the cache
    pid2 = submit(http, T2I)
    msgs = read_until_done(ws, pid2)
    cached = next(m["data"]["nodes"] for m in msgs if m["type"] == "execution_cached")
    assert set(cached) == {"4", "5", "6", "7"} and "execution_success" in kinds(msgs)


def test_stall_and_interrupt_by_prompt_id(comfy: ComfyFake, http: httpx.Client) -> None:
    ws = connect(comfy, "c1")
    comfy.stall_next()
    pid = submit(http, T2I)
    wait_for_node(ws, "3")
    queued = submit(http, T2I)
    assert [row[1] for row in http.get("/queue").json()["queue_pending"]] == [queued]
    assert http.post("/queue", json={"delete": [queued]}).status_code == 200
    assert http.get("/queue").json()["queue_pending"] == []
    assert http.post("/interrupt", json={"prompt_id": "someone-else"}).status_code == 200
    time.sleep(0.05)
    assert http.get(f"/history/{pid}").json() == {}
    assert http.post("/api/interrupt", json={"prompt_id": pid}).status_code == 200
    msgs = read_until_done(ws, pid)
    assert kinds(msgs)[-3:] == ["execution_interrupted", "status", "executing"]
    data = next(m["data"] for m in msgs if m["type"] == "execution_interrupted")
    assert data["prompt_id"] == pid and data["node_id"] == "3" and data["node_type"] == "KSampler"
    assert comfy.interrupts == [{"prompt_id": "someone-else", "running": pid, "interrupted": False},
                                {"prompt_id": pid, "running": pid, "interrupted": True}]
    assert http.get(f"/history/{pid}").json()[pid]["status"]["status_str"] == "error"


def test_identical_resubmit_is_fully_cached(comfy: ComfyFake, http: httpx.Client) -> None:
    ws = connect(comfy, "c1")
    first = submit(http, T2I)
    read_until_done(ws, first)
    files_before = dict(comfy.files)
    second = submit(http, copy.deepcopy(T2I), prompt_id="my-own-id")
    assert second == "my-own-id"
    msgs = read_until_done(ws, second)
    cached = next(m["data"]["nodes"] for m in msgs if m["type"] == "execution_cached")
    assert sorted(cached) == sorted(T2I) and "progress" not in [m["type"] for m in msgs]
    assert [m["data"]["node"] for m in msgs if m["type"] == "executing"] == [None]
    history = http.get("/history").json()
    assert history[second]["outputs"] == history[first]["outputs"] and comfy.files == files_before
    seeded = copy.deepcopy(T2I)
    seeded["3"]["inputs"]["seed"] = 1
    third = submit(http, seeded)
    read_until_done(ws, third)
    assert history[first]["outputs"]["9"]["images"][0]["filename"] == "ComfyUI_00001_.png"
    assert http.get(f"/history/{third}").json()[third]["outputs"]["9"]["images"][0]["filename"] == "ComfyUI_00002_.png"


def test_messages_only_reach_the_submitting_client(comfy: ComfyFake, http: httpx.Client) -> None:
    mine, other = connect(comfy, "mine"), connect(comfy, "other")
    pid = submit(http, T2I, client_id="mine")
    read_until_done(mine, pid)
    other.settimeout(0.3)
    seen = []
    with pytest.raises(websocket.WebSocketTimeoutException):
        while True:
            seen.append(json.loads(other.recv())["type"])
    assert seen and set(seen) == {"status"}


def test_upload_clash_rename_and_subfolder(comfy: ComfyFake, http: httpx.Client) -> None:
    a, b = png_bytes(32, 32, 1), png_bytes(32, 32, 2)
    assert upload(http, "x.png", a)["name"] == "x.png"
    assert upload(http, "x.png", a)["name"] == "x.png"  # identical bytes: no rename
    assert upload(http, "x.png", b)["name"] == "x (1).png"
    assert upload(http, "x.png", b, overwrite="true")["name"] == "x.png"
    assert upload(http, "y.png", a, subfolder="sub") == {"name": "y.png", "subfolder": "sub", "type": "input"}
    assert comfy.uploads["sub/y.png"] == a and comfy.uploads["x.png"] == b
    combo = http.get("/object_info/LoadImage").json()["LoadImage"]["input"]["required"]["image"][0]
    assert combo == ["x (1).png", "x.png"]
    assert http.post("/upload/image", files={"image": ("z.png", a)}, data={"subfolder": "../.."}).status_code == 400


def test_object_info_models_and_misc(comfy: ComfyFake, http: httpx.Client) -> None:
    info = http.get("/object_info").json()
    ckpt = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert "v1-5-pruned-emaonly.safetensors" in ckpt
    assert info["CheckpointLoaderSimple"]["output"] == ["MODEL", "CLIP", "VAE"]
    assert info["SaveVideo"]["input"]["required"]["format"][0] == "COMBO" and info["SaveVideo"]["output_node"]
    assert info["WanImageToVideo"]["input"]["required"]["length"][1]["step"] == 4
    assert http.get("/object_info/Nope").json() == {}
    assert "clip_vision_h.safetensors" in http.get("/models/clip_vision").json()
    stats = http.get("/system_stats").json()
    assert stats["system"]["comfyui_version"] and stats["devices"][0]["type"] == "cuda"
    assert http.post("/free", json={"unload_models": True}).status_code == 200
    assert http.get("/prompt", headers={"Origin": "http://evil.example"}).status_code == 403


def test_faults_use_normalised_route_keys(comfy: ComfyFake, http: httpx.Client) -> None:
    comfy.faults.add("GET /history/{id}", Fault(status=503, body="busy"))
    assert http.get("/api/history/abc").status_code == 503
    assert http.get("/api/history/abc").json() == {}


def test_die_refuses_connections(comfy: ComfyFake, http: httpx.Client) -> None:
    ws = connect(comfy, "c1")
    comfy.stall_next()
    submit(http, T2I)
    comfy.die()
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
        while True:
            ws.recv()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{comfy.url}/system_stats", timeout=2)
    with pytest.raises((ConnectionError, OSError)):
        websocket.create_connection(f"{comfy.ws_url}/ws?clientId=again", timeout=2)
