"""`s2v_tui.config_file`: the settings screen's writes to config.toml keep comments, are atomic, and
never include keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2v_tui.config import load_settings
from s2v_tui.config_file import env_overrides, save_values
from s2v_tui.domain.errors import ConfigError

ORIGINAL = '''# my s2v config
[comfy]
# the GPU box in the hall
hosts = ["http://old:8188"]
per_host_concurrency = 2  # it has two cards

[dashscope]
api_key = "sk-by-hand-123456"
'''


def test_saving_keeps_comments_and_other_keys_and_settings_read_it_back(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ORIGINAL, encoding="utf-8")
    save_values(path, {("comfy", "hosts"): ["http://gpu1:8188", "http://gpu2:8188"],
                       ("ollama", "url"): "http://llm:11434", ("dashscope", "region"): "singapore"})
    text = path.read_text(encoding="utf-8")
    for kept in ("# my s2v config", "# the GPU box in the hall", "# it has two cards", 'api_key = "sk-by-hand-123456"'):
        assert kept in text
    monkeypatch.setenv("S2V_CONFIG_FILE", str(path))
    settings = load_settings()
    assert settings.comfy.hosts == ["http://gpu1:8188", "http://gpu2:8188"] and settings.comfy.per_host_concurrency == 2
    assert settings.ollama.url == "http://llm:11434" and settings.dashscope.region == "singapore"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left behind


def test_keys_are_never_written_and_a_broken_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match="dashscope.api_key"):
        save_values(path, {("dashscope", "api_key"): "sk-never"})
    assert not path.exists()
    path.write_text("[comfy\nhosts = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot update"):
        save_values(path, {("ollama", "url"): "http://llm:11434"})
    assert path.read_text(encoding="utf-8") == "[comfy\nhosts = 1"


def test_environment_variables_that_win_over_the_file_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_overrides("ollama", "url") == []
    monkeypatch.setenv("OLLAMA_URL", "http://elsewhere:11434")
    assert env_overrides("ollama", "url") == ["OLLAMA_URL"]


def test_no_config_file_means_nothing_is_written_anywhere(tmp_path: Path) -> None:
    import os

    with pytest.raises(ConfigError, match="no config file"):
        save_values(Path(os.devnull), {("ollama", "url"): "http://llm:11434"})
    assert Path(os.devnull).is_char_device()


def test_a_linked_config_is_updated_where_it_lives_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "s2v.toml"
    real.parent.mkdir()
    real.write_text(ORIGINAL, encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_values(link, {("ollama", "url"): "http://llm:11434"})
    assert link.is_symlink() and "http://llm:11434" in real.read_text(encoding="utf-8")
