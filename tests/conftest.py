"""Shared fixtures: keep the developer's config, env and projects out of every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from s2v_tui.config import SEED_ENV, Settings, load_settings
from s2v_tui.domain.project import Project, VideoFormat
from s2v_tui.storage.project_store import ProjectFolder

TINY = {"width": 160, "height": 288, "fps": 10}
"""A tiny render format that keeps e2e tests fast while exercising every stage."""

STORY_ZH = "# 小灯笼\n\n夜晚，海边的小镇下起了雪。\n\n---\n\n老人提着红灯笼走上山顶。远处的渔船看见了光，慢慢回到港口。"
STORY_EN = "# Lamp\n\nAt night the harbour was dark. An old keeper lit the lamp on the hill.\n\nThe boats saw the light and came home."


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, no seed/S2V env vars, projects in a temp dir."""
    home = tmp_path_factory.mktemp("home")
    config = home / "config.toml"
    config.write_text("# empty: every setting at its default\n", encoding="utf-8")
    monkeypatch.setenv("S2V_CONFIG_FILE", str(config))
    monkeypatch.setenv("S2V_PROJECTS_DIR", str(home / "projects"))
    for name in list(os.environ):
        if name in SEED_ENV or (name.startswith("S2V_") and name not in ("S2V_CONFIG_FILE", "S2V_PROJECTS_DIR")):
            monkeypatch.delenv(name, raising=False)
    # Tests that are not about voice quality speak with espeak-ng (instant); tests of the neural voice
    # choose it explicitly (tests/backends/test_kokoro_voice.py).
    monkeypatch.setenv("S2V_VOICE__ENGINE", "espeak")
    for name in ("DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_WEBSOCKET_BASE_URL", "DASHSCOPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: fast retries, plus any overrides (nested dicts merge into sections)."""
    base: dict[str, object] = {"retry": {"attempts": 3, "base_delay": 0.01, "max_delay": 0.05}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}  # type: ignore[dict-item]
        else:
            base[key] = value
    return load_settings(**base)


def fake_backends() -> dict[str, str]:
    return {"storyboard": "fake", "keyframe": "fake", "clip": "fake", "voice": "fake"}


@pytest.fixture
def settings() -> Settings:
    return make_settings(backends=fake_backends())


def new_project(script: str = STORY_ZH, *, project_id: str = "test-story", language: str = "zh",
                fmt: dict[str, int] | None = None) -> Project:
    return Project(id=project_id, title="Test", script=script, language=language,  # type: ignore[arg-type]
                   format=VideoFormat(**(fmt or TINY)))


@pytest.fixture
def folder(tmp_path: Path) -> ProjectFolder:
    folder = ProjectFolder(tmp_path / "project").lock()
    yield folder
    folder.unlock()
