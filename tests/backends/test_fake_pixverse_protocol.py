"""Fidelity tests for `tests.fakes.pixverse.PixVerseFake` against the PixVerse API (protocols.md §5), via httpx."""

from __future__ import annotations

import io
import uuid
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from tests.fakes.media import png_bytes
from tests.fakes.pixverse import PixVerseFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def pv():
    with PixVerseFake(polls_to_finish=3) as server:
        yield server


@pytest.fixture
def http(pv: PixVerseFake):
    with httpx.Client(base_url=f"{pv.url}/openapi/v2", timeout=10) as client:
        yield client


def headers(pv: PixVerseFake, trace: str | None = None, key: str | None = None) -> dict[str, str]:
    return {"API-KEY": key or pv.api_key, "Ai-trace-id": trace or str(uuid.uuid4())}


def upload(pv: PixVerseFake, http: httpx.Client, data: bytes | None = None) -> int:
    rsp = http.post("/image/upload", headers=headers(pv),
                    files={"image": ("shot.png", data or png_bytes(960, 540), "image/png")})
    body = rsp.json()
    assert rsp.status_code == 200 and body["ErrCode"] == 0, body
    return body["Resp"]["img_id"]


def generate(pv: PixVerseFake, http: httpx.Client, img_id: int, trace: str | None = None,
             **over: Any) -> dict[str, Any]:
    body = {"img_id": img_id, "prompt": "cat walks", "model": "v5", "duration": 5, "quality": "540p",
            "motion_mode": "normal", "seed": 42, **over}
    rsp = http.post("/video/img/generate", headers=headers(pv, trace), json=body)
    assert rsp.status_code == 200
    return rsp.json()


def poll(pv: PixVerseFake, http: httpx.Client, video_id: int) -> dict[str, Any]:
    return http.get(f"/video/result/{video_id}", headers=headers(pv)).json()


def test_upload_generate_poll_download(pv: PixVerseFake, http: httpx.Client) -> None:
    img_id = upload(pv, http)
    assert isinstance(img_id, int) and pv.uploads[img_id]["width"] == 960
    body = generate(pv, http, img_id)
    assert body["ErrCode"] == 0 and body["ErrMsg"] == "success"
    video_id = body["Resp"]["video_id"]
    statuses = [poll(pv, http, video_id)["Resp"]["status"] for _ in range(3)]
    assert statuses == [5, 5, 1]
    resp = poll(pv, http, video_id)["Resp"]
    assert (resp["outputWidth"], resp["outputHeight"]) == (960, 540) and resp["id"] == video_id
    data = httpx.get(resp["url"]).content
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.width == 240
    img_url = pv.uploads[img_id]["url"]
    assert httpx.get(img_url).content == pv.uploads[img_id]["data"]


def test_upload_by_url_and_failures(pv: PixVerseFake, http: httpx.Client) -> None:
    first = upload(pv, http)
    rsp = http.post("/image/upload", headers=headers(pv), data={"image_url": pv.uploads[first]["url"]}).json()
    assert rsp["ErrCode"] == 0 and pv.uploads[rsp["Resp"]["img_id"]]["source"] == "url"
    rsp = http.post("/image/upload", headers=headers(pv), data={"image_url": f"{pv.url}/media/missing.png"}).json()
    assert rsp["ErrCode"] == 500041
    rsp = http.post("/image/upload", headers=headers(pv), files={"image": ("x.png", b"not an image")}).json()
    assert rsp["ErrCode"] == 500032
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    rsp = http.post("/image/upload", headers=headers(pv), files={"image": ("x.gif", gif.getvalue())}).json()
    assert rsp["ErrCode"] == 500032


def test_headers_required(pv: PixVerseFake, http: httpx.Client) -> None:
    rsp = http.post("/image/upload", headers=headers(pv, key="wrong"), files={"image": ("a.png", png_bytes(8, 8))})
    assert rsp.status_code == 200 and rsp.json()["ErrCode"] == 10005
    rsp = http.post("/image/upload", headers={"API-KEY": pv.api_key}, files={"image": ("a.png", png_bytes(8, 8))})
    assert rsp.status_code == 200 and rsp.json()["ErrCode"] == 400011
    assert pv.uploads == {}


@pytest.mark.parametrize("over, code", [
    ({"img_id": 1}, 400032), ({"prompt": "x" * 2049}, 400018), ({"duration": 6}, 400017),
    ({"quality": "1080p", "duration": 8}, 400017), ({"quality": "4k"}, 400017), ({"model": "v9"}, 400017),
    ({"prompt": ""}, 400011), ({"duration": "5"}, 400013),
])
def test_generate_validation(pv: PixVerseFake, http: httpx.Client, over: dict[str, Any], code: int) -> None:
    img_id = upload(pv, http)
    body = generate(pv, http, over.pop("img_id", img_id), **over)
    assert body["ErrCode"] == code and pv.jobs_created == 0


def test_trace_id_dedupe(pv: PixVerseFake, http: httpx.Client) -> None:
    img_id = upload(pv, http)
    trace = str(uuid.uuid4())
    a = generate(pv, http, img_id, trace=trace)["Resp"]["video_id"]
    b = generate(pv, http, img_id, trace=trace)["Resp"]["video_id"]
    c = generate(pv, http, img_id)["Resp"]["video_id"]
    assert a == b != c
    assert pv.generate_calls == 3 and pv.jobs_created == 2 and len(pv.jobs) == 2


def test_outcomes_moderation_and_failure(pv: PixVerseFake, http: httpx.Client) -> None:
    pv.outcomes.extend([7, 8])
    img_id = upload(pv, http)
    ids = [generate(pv, http, img_id)["Resp"]["video_id"] for _ in range(3)]
    finals = []
    for video_id in ids:
        for _ in range(3):
            resp = poll(pv, http, video_id)["Resp"]
        finals.append((resp["status"], bool(resp["url"])))
    assert finals == [(7, False), (8, False), (1, True)]
    assert poll(pv, http, 12345)["ErrCode"] == 500008


def test_concurrency_limit(pv: PixVerseFake, http: httpx.Client) -> None:
    pv.concurrency_limit = 1
    img_id = upload(pv, http)
    first = generate(pv, http, img_id)["Resp"]["video_id"]
    assert generate(pv, http, img_id)["ErrCode"] == 500044
    for _ in range(3):
        poll(pv, http, first)
    assert generate(pv, http, img_id)["ErrCode"] == 0


def test_text_to_video_portrait_and_faults(pv: PixVerseFake, http: httpx.Client) -> None:
    body = {"prompt": "rain", "model": "v5", "duration": 5, "quality": "360p", "aspect_ratio": "9:16"}
    video_id = http.post("/video/text/generate", headers=headers(pv), json=body).json()["Resp"]["video_id"]
    for _ in range(3):
        resp = poll(pv, http, video_id)["Resp"]
    assert (resp["outputWidth"], resp["outputHeight"]) == (360, 640)
    pv.faults.add("GET /openapi/v2/video/result/{id}", Fault(status=502, body="bad gateway"))
    assert http.get(f"/video/result/{video_id}", headers=headers(pv)).status_code == 502
    assert http.get("/account/balance", headers=headers(pv)).json()["Resp"]["credit_monthly"] > 0
