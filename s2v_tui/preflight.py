"""What a run needs that is missing, checked once before it starts: API keys and endpoints per chosen backend.

Without this, a backend without its key fails once per shot (ten identical errors for ten shots) after
the run has started. Front-end neutral: each `Missing` says what is missing, how to fix it, and which
backend of the same stage works without it; the studio words the switch as a palette command, the
headless run as an option. Only the stages a run will actually call are checked, so a fully cached
render never asks for a key it will not use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

from s2v_tui.config import STAGES, Settings
from s2v_tui.domain.errors import AuthError, ConfigError, S2VError

OFFLINE = "offline"
"""Every stage has an offline backend that needs no key and no server."""


@dataclass(frozen=True)
class Missing:
    """One thing a run needs and does not have."""

    stage: str
    backend: str
    needs: str
    """What is missing, as the user sets it: "DASHSCOPE_API_KEY", "COMFY_HOSTS_LIST"…"""
    fix: str
    """How to provide it."""
    alternative: str = OFFLINE
    """A backend for `stage` that does without it."""

    @property
    def message(self) -> str:
        return f"the {self.stage} backend {self.backend} needs {self.needs}, which is not set"

    def error(self) -> S2VError:
        """As an error (AuthError for keys, ConfigError for endpoints): the fix, and the backend that
        does without it (worded for config and `--run`; the studio words it as a palette command)."""
        kind = AuthError if "KEY" in self.needs or "SECRET" in self.needs else ConfigError
        return kind(self.message, hint=f"{self.fix}; or use the {self.alternative} backend for {self.stage} "
                                       f"(--backend {self.stage}={self.alternative}, or [backends] {self.stage} = "
                                       f"\"{self.alternative}\")")


def _set(secret: SecretStr | None) -> bool:
    return bool(secret and secret.get_secret_value().strip())


def _dashscope_key(settings: Settings, stage: str, backend: str) -> list[Missing]:
    if _set(settings.dashscope.api_key):
        return []
    return [Missing(stage, backend, "DASHSCOPE_API_KEY",
                    f"set DASHSCOPE_API_KEY (or [dashscope] api_key in config.toml); keys are per region "
                    f"(this config uses {settings.dashscope.region})")]


def _needs(settings: Settings, stage: str, backend: str) -> list[Missing]:
    """What `backend` needs to run `stage` with these settings."""
    if backend == "dashscope":
        found = _dashscope_key(settings, stage, backend)
        if stage == "clip" and settings.dashscope.image_handover == "oss":
            for env, secret in (("OSS_ACCESS_KEY_ID", settings.oss.access_key_id),
                                ("OSS_ACCESS_KEY_SECRET", settings.oss.access_key_secret)):
                if not _set(secret):
                    found.append(Missing(stage, backend, env, f"set {env}, or [dashscope] image_handover = "
                                                              "\"upload\" or \"data_uri\" in config.toml"))
        return found
    if backend == "openai_compat":
        from s2v_tui.backends.openai_compat.storyboard import OpenAICompatStoryboard

        # Without its own key and base_url it calls DashScope's compatible mode with DashScope's key.
        return _dashscope_key(settings, stage, backend) if OpenAICompatStoryboard(settings).uses_dashscope_key else []
    if backend == "pixverse" and not _set(settings.pixverse.api_key):
        return [Missing(stage, backend, "PIXVERSE_API_KEY", "set PIXVERSE_API_KEY (or [pixverse] api_key)")]
    if backend == "comfy" and not settings.comfy.hosts:
        return [Missing(stage, backend, "COMFY_HOSTS_LIST",
                        "set COMFY_HOSTS_LIST=http://host:8188,… (or [comfy] hosts in config.toml)")]
    if backend == "ollama" and not settings.ollama.url.strip():
        return [Missing(stage, backend, "OLLAMA_URL", "set OLLAMA_URL (or [ollama] url in config.toml)")]
    if backend == "cosyvoice" and not settings.cosyvoice.url:
        return [Missing(stage, backend, "COSYVOICE_URL",
                        "set COSYVOICE_URL=http://host:9233/v1/tts (or [cosyvoice] url in config.toml)")]
    return []


def missing_for_run(settings: Settings, stages: Iterable[str] = STAGES) -> list[Missing]:
    """Everything the backends chosen for `stages` need and do not have (empty: the run can start).

    Args:
        settings: the settings the run will use.
        stages: the backend stages the run will call ("storyboard", "keyframe", "clip", "voice");
            others ("segment", "final") need no backend and are ignored.
    """
    wanted = set(stages)
    found: list[Missing] = []
    for stage in STAGES:
        if stage in wanted:
            found += _needs(settings, stage, settings.backend_for(stage))
    return found
