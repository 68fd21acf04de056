"""Settings precedence: S2V_* env > seed env names > TOML > defaults; secrets stay secret."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from s2v_tui.config import Settings, load_settings
from s2v_tui.domain.errors import ConfigError


def test_defaults_are_offline() -> None:
    settings = load_settings()
    assert [settings.backend_for(s) for s in ("storyboard", "keyframe", "clip", "voice")] == ["offline"] * 4


def test_toml_then_seed_env_then_s2v_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[render]\nfps = 24\n[retry]\nattempts = 7\n[comfy]\nhosts = ["http://toml:1"]\n')
    monkeypatch.setenv("S2V_CONFIG_FILE", str(config))
    assert load_settings().render.fps == 24
    monkeypatch.setenv("API_RETRY_ATTEMPTS", "5")
    monkeypatch.setenv("COMFY_HOSTS_LIST", "http://a:8188, http://b:8189")
    settings = load_settings()
    assert settings.retry.attempts == 5 and settings.comfy.hosts == ["http://a:8188", "http://b:8189"]
    monkeypatch.setenv("S2V_RETRY__ATTEMPTS", "9")
    assert load_settings().retry.attempts == 9


def test_local_inference_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_INFERENCE", "true")
    settings = load_settings()
    assert settings.backend_for("keyframe") == "comfy" and settings.backend_for("storyboard") == "ollama"
    assert settings.backend_for("voice") == "offline"  # no COSYVOICE_URL: falls back to the offline voice
    monkeypatch.setenv("COSYVOICE_URL", "http://127.0.0.1:9233/v1/tts")
    assert load_settings().backend_for("voice") == "cosyvoice"
    monkeypatch.setenv("LOCAL_INFERENCE", "false")
    assert load_settings().backend_for("clip") == "dashscope"
    monkeypatch.setenv("S2V_BACKENDS__CLIP", "pixverse")
    assert load_settings().backend_for("clip") == "pixverse"


def test_keys_are_secret_str_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-config-test-0001")
    settings = load_settings()
    assert settings.dashscope.api_key is not None
    assert settings.dashscope.api_key.get_secret_value() == "sk-config-test-0001"
    assert "sk-config-test-0001" not in repr(settings) and "sk-config-test-0001" not in settings.model_dump_json()


def test_bad_values_and_bad_toml_give_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_RETRY_ATTEMPTS", "many")
    with pytest.raises(ConfigError, match="retry.attempts"):
        load_settings()
    monkeypatch.delenv("API_RETRY_ATTEMPTS")
    config = tmp_path / "config.toml"
    config.write_text("[render\nfps = ")
    monkeypatch.setenv("S2V_CONFIG_FILE", str(config))
    with pytest.raises(ConfigError, match="config.toml"):
        load_settings()


EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def _key_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            paths += _key_paths(field.annotation, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def _documented_keys(text: str) -> set[tuple[str, ...]]:
    """(section, key) for every `key = …` line, commented out or not."""
    found: set[tuple[str, ...]] = set()
    section: tuple[str, ...] = ()
    for line in text.splitlines():
        if header := re.match(r"^\[(\w+)\]", line):
            section = (header.group(1),)
        elif key := re.match(r"^#?\s?([a-z_][a-z0-9_-]*)\s*=", line):
            found.add((*section, key.group(1)))
    return found


def test_example_config_documents_every_key() -> None:
    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    missing = [".".join(path) for path in _key_paths(Settings) if path not in documented and path != ("keymap",)]
    assert not missing, f"config.example.toml lacks {missing}"
    assert ("keymap", "render-all") in documented


def test_example_config_states_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("S2V_VOICE__ENGINE")  # the suite's espeak default would hide [voice] engine
    monkeypatch.setenv("S2V_CONFIG_FILE", str(EXAMPLE))
    from_example = load_settings().model_dump()
    monkeypatch.setenv("S2V_CONFIG_FILE", os.devnull)
    assert from_example == load_settings().model_dump()
