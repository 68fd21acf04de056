"""`s2v doctor` against the fakes: exit codes, what it reports, and that it never prints a key."""

from __future__ import annotations

import pytest

from s2v_tui.doctor import run_doctor

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
