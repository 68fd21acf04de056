"""`s2v_tui.preflight`: what a run needs that is missing, per chosen backend, before it starts."""

from __future__ import annotations

from s2v_tui.domain.errors import AuthError, ConfigError
from s2v_tui.preflight import missing_for_run
from tests.conftest import make_settings


def test_a_cloud_backend_without_its_key_is_missing_it_with_the_fix_and_an_offline_alternative() -> None:
    settings = make_settings(backends={"keyframe": "dashscope"})
    [missing] = missing_for_run(settings)
    assert (missing.stage, missing.backend, missing.needs, missing.alternative) == (
        "keyframe", "dashscope", "DASHSCOPE_API_KEY", "offline")
    assert "DASHSCOPE_API_KEY" in missing.fix and "beijing" in missing.fix
    error = missing.error()
    assert isinstance(error, AuthError) and error.hint == missing.fix


def test_only_the_stages_the_run_calls_are_checked_and_a_set_key_is_enough() -> None:
    settings = make_settings(backends={"keyframe": "dashscope", "clip": "pixverse"})
    assert [m.needs for m in missing_for_run(settings)] == ["DASHSCOPE_API_KEY", "PIXVERSE_API_KEY"]
    assert missing_for_run(settings, ["voice", "segment", "final"]) == []  # nothing of theirs is called
    keyed = make_settings(backends={"keyframe": "dashscope", "clip": "pixverse"},
                          dashscope={"api_key": "sk-test-000000"}, pixverse={"api_key": "pv-test-000000"})
    assert missing_for_run(keyed) == []


def test_wan_with_oss_handover_needs_both_oss_keys() -> None:
    settings = make_settings(backends={"clip": "dashscope"}, dashscope={"api_key": "sk-test-000000",
                                                                        "image_handover": "oss"})
    assert [m.needs for m in missing_for_run(settings)] == ["OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"]
    assert "image_handover" in missing_for_run(settings)[0].fix


def test_openai_compat_needs_the_dashscope_key_only_when_it_calls_dashscope() -> None:
    assert [m.needs for m in missing_for_run(make_settings(backends={"storyboard": "openai_compat"}))] == [
        "DASHSCOPE_API_KEY"]
    own_server = make_settings(backends={"storyboard": "openai_compat"},
                               openai_compat={"base_url": "http://127.0.0.1:8000/v1"})
    assert missing_for_run(own_server) == []


def test_local_servers_need_their_addresses() -> None:
    settings = make_settings(backends={"keyframe": "comfy", "voice": "cosyvoice"}, comfy={"hosts": []})
    missing = missing_for_run(settings)
    assert [m.needs for m in missing] == ["COMFY_HOSTS_LIST", "COSYVOICE_URL"]
    assert all(isinstance(m.error(), ConfigError) for m in missing)
    assert missing_for_run(make_settings()) == []  # the offline default needs nothing
