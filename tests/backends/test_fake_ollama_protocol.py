"""Fidelity tests for `tests.fakes.ollama.OllamaFake` against the Ollama API (protocols.md §7), via httpx."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes.ollama import CAMERAS, OllamaFake
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(20)

USER = "请将以下创意概念扩写并制作成视频分镜脚本：\n【style:水彩:夜晚，海边的小镇下起了雪。】"


@pytest.fixture
def ollama():
    with OllamaFake() as server:
        yield server


@pytest.fixture
def http(ollama: OllamaFake):
    with httpx.Client(base_url=ollama.url, timeout=10) as client:
        yield client


def test_chat_non_stream_default_storyboard(ollama: OllamaFake, http: httpx.Client) -> None:
    rsp = http.post("/api/chat", json={"model": "qwen3:latest", "stream": False, "format": "json",
                                       "messages": [{"role": "system", "content": "json only"},
                                                    {"role": "user", "content": USER}]})
    body = rsp.json()
    assert rsp.status_code == 200 and body["done"] is True and body["done_reason"] == "stop"
    assert body["message"]["role"] == "assistant" and body["eval_count"] > 0 and "created_at" in body
    shots = json.loads(body["message"]["content"])["shots"]
    assert len(shots) == 6 and [s["sequence"] for s in shots] == list(range(1, 7))
    for shot in shots:
        assert {"sequence", "subject", "detail", "narration", "camera", "tone"} <= set(shot)
        assert shot["camera"] in CAMERAS and len(shot["narration"]) <= 20
    assert "海边的小镇" in shots[0]["subject"]
    assert ollama.calls[0]["format"] == "json" and ollama.calls[0]["endpoint"] == "chat"


def test_chat_streams_ndjson_by_default(ollama: OllamaFake, http: httpx.Client) -> None:
    ollama.responses.append('{"shots": []}' * 3)
    chat = {"model": "qwen3", "messages": [{"role": "user", "content": "hi"}]}
    with http.stream("POST", "/api/chat", json=chat) as rsp:
        assert rsp.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in rsp.iter_lines() if line]
    assert len(lines) > 2 and all(not ln["done"] for ln in lines[:-1])
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] > 0 and lines[-1]["message"]["content"] == ""
    assert "".join(ln["message"]["content"] for ln in lines) == '{"shots": []}' * 3
    assert ollama.calls[0]["stream"] is True


def test_generate_with_schema_format(ollama: OllamaFake, http: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"shots": {"type": "array"}}, "required": ["shots"]}
    rsp = http.post("/api/generate", json={"model": "qwen3:latest", "prompt": USER, "system": "导演", "stream": False,
                                           "format": schema, "options": {"temperature": 0.8, "num_ctx": 8192}})
    body = rsp.json()
    assert len(json.loads(body["response"])["shots"]) == 6 and body["context"]
    call = ollama.calls[0]
    assert call["format"] == schema and call["options"]["num_ctx"] == 8192 and call["system"] == "导演"
    with http.stream("POST", "/api/generate", json={"model": "qwen3", "prompt": "x"}) as stream:
        lines = [json.loads(line) for line in stream.iter_lines() if line]
    assert lines[-1]["done"] is True and "response" in lines[0]


def test_scripted_responses_in_order(ollama: OllamaFake, http: httpx.Client) -> None:
    ollama.responses.extend(["first", "second"])
    got = [http.post("/api/generate", json={"model": "qwen3", "prompt": "p", "stream": False}).json()["response"]
           for _ in range(3)]
    assert got[:2] == ["first", "second"] and json.loads(got[2])["shots"]


def test_unknown_model_and_errors(ollama: OllamaFake, http: httpx.Client) -> None:
    rsp = http.post("/api/chat", json={"model": "llama9", "messages": []})
    assert rsp.status_code == 404 and rsp.json() == {"error": "model 'llama9' not found"}
    assert http.post("/api/generate", json={"prompt": "p"}).status_code == 400
    ollama.error_mid_stream_next = "an error was encountered while running the model"
    chat = {"model": "qwen3", "messages": [{"role": "user", "content": USER}]}
    with http.stream("POST", "/api/chat", json=chat) as rsp:
        assert rsp.status_code == 200
        lines = [json.loads(line) for line in rsp.iter_lines() if line]
    assert lines[-1] == {"error": "an error was encountered while running the model"}
    assert not any(ln.get("done") for ln in lines)
    ollama.error_mid_stream_next = "boom"
    rsp = http.post("/api/chat", json={"model": "qwen3", "stream": False, "messages": []})
    assert rsp.status_code == 500 and rsp.json() == {"error": "boom"}
    ollama.faults.add("POST /api/chat", Fault(status=429, body={"error": "too many requests"}))
    assert http.post("/api/chat", json={"model": "qwen3", "messages": []}).status_code == 429


def test_tags_and_version(http: httpx.Client) -> None:
    names = [m["name"] for m in http.get("/api/tags").json()["models"]]
    assert names == ["qwen3:latest"]
    assert http.get("/api/version").json()["version"]
    assert http.get("/").text == "Ollama is running"
