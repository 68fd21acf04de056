"""`s2v doctor` against the fakes: exit codes, what it reports, and that it never prints a key."""

from __future__ import annotations

import pytest
from aiohttp import web

from s2v_tui.doctor import run_doctor
from tests.fakes.comfy import ComfyFake
from tests.fakes.comfy_catalogue import DEFAULT_MODELS
from tests.fakes.server import FakeServer

pytestmark = pytest.mark.timeout(60)

KEY = "sk-test-fake-doctor-4242"


@pytest.fixture
def cloud_env(monkeypatch: pytest.MonkeyPatch, dashscope_fake):
    monkeypatch.setenv("LOCAL_INFERENCE", "false")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", dashscope_fake.base_url)
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", dashscope_fake.ws_base_url)
    monkeypatch.setenv("S2V_DASHSCOPE__IMAGE_HANDOVER", "data_uri")
    return monkeypatch


def test_cloud_config_with_key_and_reachable_endpoints_passes(cloud_env, capsys):
    cloud_env.setenv("DASHSCOPE_API_KEY", KEY)
    assert run_doctor([]) == 0
    out = capsys.readouterr().out
    assert KEY not in out
    assert "dashscope" in out and "set" in out and "reach DashScope HTTP" in out and "ffmpeg" in out


def test_missing_key_fails_and_says_what_to_set(cloud_env, capsys):
    assert run_doctor([]) == 1
    assert "DASHSCOPE_API_KEY" in capsys.readouterr().out


def test_unreachable_endpoint_fails(cloud_env, capsys):
    cloud_env.setenv("DASHSCOPE_API_KEY", KEY)
    cloud_env.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1")
    assert run_doctor([]) == 1
    assert "ConnectError" in capsys.readouterr().out


def test_offline_config_needs_no_keys_or_network(capsys):
    assert run_doctor(["--no-network"]) == 0
    out = capsys.readouterr().out
    assert "espeak voice zh" in out and "reach" not in out


def test_bad_config_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys):
    bad = tmp_path / "config.toml"
    bad.write_text("[render]\nfps = 'fast'\n", encoding="utf-8")
    assert run_doctor(["--config", str(bad)]) == 1
    assert "render.fps" in capsys.readouterr().out


# -- ComfyUI hosts (issue 11 item 5) -------------------------------------------------------------------
class PlainWebServer(FakeServer):
    """Something else on the port: answers every GET with a small HTML page."""

    def build_app(self) -> web.Application:
        async def page(request: web.Request) -> web.Response:
            return web.Response(text="<html><body>It works!</body></html>", content_type="text/html")

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", page)
        return app


@pytest.fixture
def comfy_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("S2V_BACKENDS__KEYFRAME", "comfy")
    monkeypatch.setenv("S2V_BACKENDS__CLIP", "comfy")
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line, so each check reads whole
    return monkeypatch


def rows(text: str, check: str) -> list[str]:
    """The table rows of the check with this exact name."""
    return [line for line in text.splitlines() if line.count("│") > 2 and line.split("│")[1].strip() == check]


def test_comfy_host_shows_version_and_devices_and_checks_the_workflows(comfy_env, capsys):
    with ComfyFake() as comfy:
        comfy_env.setenv("COMFY_HOSTS_LIST", comfy.url)
        assert run_doctor([]) == 0
    out = capsys.readouterr().out
    [host] = rows(out, f"ComfyUI {comfy.url}")
    assert "OK" in host and "ComfyUI 0.3.64" in host and "NVIDIA GeForce RTX 4090 (22.0/24.0 GiB free)" in host
    keyframe = rows(out, f"ComfyUI {comfy.url} keyframe workflow")
    clip = rows(out, f"ComfyUI {comfy.url} clip workflow")
    assert "OK" in keyframe[0] and "sd15_t2i.json" in keyframe[0] and "OK" in clip[0] and "4 model file" in clip[0]


def test_a_plain_web_server_is_not_taken_for_comfy(comfy_env, capsys):
    with PlainWebServer() as web_server:
        comfy_env.setenv("COMFY_HOSTS_LIST", web_server.url)
        assert run_doctor([]) == 1
    [row] = rows(capsys.readouterr().out, f"ComfyUI {web_server.url}")
    assert "FAIL" in row and "not as ComfyUI" in row


def test_a_host_without_the_checkpoint_fails_naming_the_file(comfy_env, capsys):
    models = {**DEFAULT_MODELS, "checkpoints": ["sd_xl_base_1.0.safetensors"]}
    with ComfyFake(models=models) as comfy:
        comfy_env.setenv("COMFY_HOSTS_LIST", comfy.url)
        assert run_doctor([]) == 1
    out = capsys.readouterr().out
    [row] = rows(out, f"ComfyUI {comfy.url} keyframe workflow")
    assert "FAIL" in row and "ckpt_name 'v1-5-pruned-emaonly.safetensors' not in list" in row
    assert "models folder" in row
    assert "OK" in rows(out, f"ComfyUI {comfy.url} clip workflow")[0]


def test_a_seed_the_workflow_cannot_take_is_found_before_a_run(comfy_env, tmp_path, capsys):
    from tests.backends.test_comfy_workflow import SWATCH, write_workflow

    mapping = {"kind": "t2i", "output": "2", "inputs": {"seed": ["1", "color"]}}
    with ComfyFake() as comfy:
        comfy_env.setenv("COMFY_HOSTS_LIST", comfy.url)
        comfy_env.setenv("S2V_COMFY__T2I_WORKFLOW", str(write_workflow(tmp_path, mapping, SWATCH)))
        assert run_doctor([]) == 1
    [row] = rows(capsys.readouterr().out, f"ComfyUI {comfy.url} keyframe workflow")
    assert "color: Value 2147483646 bigger than max of 16777215" in row and "modulo" in row


def test_an_unreachable_comfy_host_says_how_to_fix_it_without_regions(comfy_env, capsys):
    comfy_env.setenv("COMFY_HOSTS_LIST", "http://127.0.0.1:9")
    assert run_doctor([]) == 1
    [row] = rows(capsys.readouterr().out, "ComfyUI http://127.0.0.1:9")
    assert "FAIL" in row and "unreachable" in row and "start ComfyUI" in row and "region" not in row


def test_a_damaged_neural_voice_model_fails_and_names_the_fallback(monkeypatch: pytest.MonkeyPatch, capsys):
    from s2v_tui.backends.offline import kokoro_model
    from s2v_tui.domain.errors import BackendError

    monkeypatch.setenv("S2V_VOICE__ENGINE", "auto")

    def damaged(*args: object, **kwargs: object) -> bytes:
        raise BackendError("the Kokoro voice model is damaged", hint=kokoro_model.FALLBACK_HINT)

    monkeypatch.setattr(kokoro_model, "verified_model", damaged)
    assert run_doctor(["--no-network"]) == 1
    out = capsys.readouterr().out
    assert "Kokoro voice" in out and "damaged" in out and "espeak" in out


def test_a_missing_key_says_how_to_set_it_with_its_brackets_and_the_way_out(cloud_env, capsys):
    cloud_env.setenv("COLUMNS", "400")  # one line per check, so the texts can be read back whole
    assert run_doctor(["--no-network"]) == 1
    out = capsys.readouterr().out
    assert "[dashscope] api_key in config.toml" in out  # printed as text, not eaten as markup
    assert "the offline backend for" in out and "=offline" in out
