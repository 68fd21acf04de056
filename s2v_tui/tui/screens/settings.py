"""Settings: the project's format and voice, the servers, backends, models, concurrency; keys only as set/unset.

Each section says where its values are kept, because they are kept in three places: size, fps and
voice are project fields (saved in project.json); ComfyUI hosts, the Ollama URL and the DashScope
region are written to config.toml (`s2v_tui.config_file`, comments kept); backends, models and
concurrency replace the session's settings (`StudioSession.replace_settings`) until the studio quits.
API keys are never shown nor written here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from s2v_tui.backends.registry import REGISTRY
from s2v_tui.config import STAGES, Settings, config_file_path
from s2v_tui.config_file import env_overrides, save_values
from s2v_tui.domain.errors import S2VError
from s2v_tui.domain.project import VideoFormat, VoiceSettings, parse_size
from s2v_tui.tui.run_checks import picked_backend_warning
from s2v_tui.tui.session import StudioSession
from s2v_tui.tui.widgets.fields import FieldInput

MODEL_FIELDS = (("dashscope", "llm_model"), ("dashscope", "image_model"), ("dashscope", "video_model"),
                ("dashscope", "tts_model"), ("dashscope", "tts_voice"), ("ollama", "model"),
                ("openai_compat", "model"), ("pixverse", "model"))
CONCURRENCY_FIELDS = (("render", "workers"), ("dashscope", "lanes"), ("comfy", "per_host_concurrency"),
                      ("pixverse", "max_concurrency"))
SERVER_FIELDS = (("comfy", "hosts"), ("ollama", "url"), ("dashscope", "region"))
"""Saved to config.toml by Apply (see `s2v_tui.config_file`)."""
REGIONS = ("beijing", "singapore", "us")
KEY_FIELDS = (("dashscope", "api_key", "DASHSCOPE_API_KEY"), ("oss", "access_key_id", "OSS_ACCESS_KEY_ID"),
              ("oss", "access_key_secret", "OSS_ACCESS_KEY_SECRET"), ("pixverse", "api_key", "PIXVERSE_API_KEY"),
              ("openai_compat", "api_key", "S2V_OPENAI_COMPAT__API_KEY"))


def updated_settings(settings: Settings, changes: dict[str, dict[str, Any]]) -> Settings:
    """A copy of `settings` with section fields changed, each section re-validated."""
    update = {}
    for section, fields in changes.items():
        current = getattr(settings, section)
        update[section] = type(current).model_validate({**current.model_dump(), **fields})
    return settings.model_copy(update=update)


class SettingsScreen(ModalScreen[bool]):
    """Returns True when something was applied."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Close", id="settings-close"),
                Binding("ctrl+s", "apply", "Apply", id="settings-apply")]

    def __init__(self, settings: Settings, session: StudioSession | None = None) -> None:
        super().__init__(classes="dialog")
        self.settings = settings
        self.session = session

    def _row(self, label: str, widget: Any) -> Horizontal:
        return Horizontal(Label(label, classes="field-label"), widget, classes="field-row")

    def compose(self) -> ComposeResult:
        s = self.settings
        path = config_file_path()
        with Vertical(classes="dialog-body -wide"):
            yield Static("[b]Settings[/b] — each section says where its values are kept", classes="dialog-title")
            with VerticalScroll(id="settings-form"):
                if self.session is not None:
                    project = self.session.project
                    yield Label("this project — saved in its project.json (kept across restarts)",
                                classes="field-title")
                    yield self._row("size", FieldInput(f"{project.format.width}x{project.format.height}",
                                                       compact=True, id="project-size"))
                    yield self._row("fps", FieldInput(str(project.format.fps), compact=True, id="project-fps"))
                    yield self._row("voice", FieldInput(project.voice.name or "", placeholder="backend default",
                                                        compact=True, id="project-voice"))
                    yield self._row("rate", FieldInput(f"{project.voice.rate:g}", compact=True, id="project-rate"))
                yield Label(f"servers — saved to {path} (comments there are kept)", classes="field-title")
                yield self._row("comfy.hosts", FieldInput(", ".join(s.comfy.hosts), compact=True, id="server-comfy-hosts",
                                                          placeholder="http://host:8188, http://other:8188"))
                yield self._row("ollama.url", FieldInput(s.ollama.url, compact=True, id="server-ollama-url"))
                yield self._row("dashscope.region", Select([(r, r) for r in REGIONS], value=s.dashscope.region,
                                                           allow_blank=False, compact=True,
                                                           id="server-dashscope-region"))
                for section, name in SERVER_FIELDS:
                    winners = env_overrides(section, name)
                    if winners:
                        yield Static(f"  note: {' and '.join(winners)} is set in the environment and wins over "
                                     "the file until it is unset", classes="-warning")
                yield Label("backends — this session only (until you quit; to keep them: [backends] in "
                            "config.toml)", classes="field-title")
                for stage in STAGES:
                    options = [(name, name) for name in REGISTRY[stage]]
                    yield self._row(stage, Select(options, value=s.backend_for(stage), allow_blank=False,
                                                  compact=True, id=f"backend-{stage}"))
                yield Label("models — this session only", classes="field-title")
                for section, name in MODEL_FIELDS:
                    yield self._row(f"{section}.{name}", FieldInput(str(getattr(getattr(s, section), name)),
                                                                    compact=True, id=f"model-{section}-{name}"))
                yield Label("concurrency — this session only", classes="field-title")
                for section, name in CONCURRENCY_FIELDS:
                    yield self._row(f"{section}.{name}", FieldInput(str(getattr(getattr(s, section), name)),
                                                                    compact=True, type="integer",
                                                                    id=f"conc-{section}-{name}"))
                yield Label("API keys — read from the environment or config.toml; never shown, never written here",
                            classes="field-title")
                for section, name, env in KEY_FIELDS:
                    state = "set" if getattr(getattr(s, section), name) is not None else "unset"
                    yield self._row(f"{section}.{name}", Static(f"{state}  ({env})", classes=f"-key-{state}"))
            yield Static(f"Apply: project fields go into project.json, servers into {path}, the rest lasts until "
                         "you quit (see config.example.toml for every key).", classes="dialog-hint",
                         id="settings-note")
            yield Static("", id="settings-error", classes="-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def servers(self) -> dict[tuple[str, str], Any]:
        """The server fields that differ from the current settings (raises ValueError on a bad URL)."""
        hosts = [host.strip().rstrip("/") for host in self._value("#server-comfy-hosts").split(",") if host.strip()]
        wanted = {("comfy", "hosts"): hosts, ("ollama", "url"): self._value("#server-ollama-url").rstrip("/"),
                  ("dashscope", "region"): self.query_one("#server-dashscope-region", Select).value}
        for url in [*hosts, wanted[("ollama", "url")]]:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not a URL; write it as http://host:port")
        return {key: value for key, value in wanted.items() if getattr(getattr(self.settings, key[0]), key[1]) != value}

    def collect(self) -> tuple[Settings, dict[str, Any], dict[tuple[str, str], Any]]:
        """The new settings, project fields and changed server fields (raises ValueError/ValidationError)."""
        changes: dict[str, dict[str, Any]] = {"backends": {
            stage: self.query_one(f"#backend-{stage}", Select).value for stage in STAGES}}
        for section, name in MODEL_FIELDS:
            changes.setdefault(section, {})[name] = self._value(f"#model-{section}-{name}")
        for section, name in CONCURRENCY_FIELDS:
            changes.setdefault(section, {})[name] = int(self._value(f"#conc-{section}-{name}"))
        servers = self.servers()
        for (section, name), value in servers.items():
            changes.setdefault(section, {})[name] = value
        project: dict[str, Any] = {}
        if self.session is not None:
            width, height = parse_size(self._value("#project-size"))
            project["format"] = VideoFormat(width=width, height=height, fps=int(self._value("#project-fps")))
            project["voice"] = VoiceSettings(name=self._value("#project-voice") or None,
                                             rate=float(self._value("#project-rate")))
        return updated_settings(self.settings, changes), project, servers

    def action_apply(self) -> None:
        self.apply()

    @work(exclusive=True, group="settings", exit_on_error=False)
    async def apply(self) -> None:
        error = self.query_one("#settings-error", Static)
        try:
            settings, project, servers = self.collect()
            if servers:
                await asyncio.to_thread(save_values, config_file_path(), servers)
            if self.session is not None:
                await self.session.replace_settings(settings)
                if not self.session.read_only:
                    self.session.update_project(**project)
        except (ValueError, ValidationError, S2VError, OSError) as exc:
            error.update(f"⚠ {exc}")
            return
        self.app.settings = settings  # type: ignore[attr-defined]  # new projects use them too
        changed = [stage for stage in STAGES if settings.backend_for(stage) != self.settings.backend_for(stage)]
        warning = picked_backend_warning(settings, changed)
        saved = f" · servers saved to {config_file_path().name}" if servers else ""
        if warning:
            self.notify(warning, title="settings applied, but", severity="warning", timeout=10)
        else:
            self.notify(f"settings applied{saved}", timeout=3)
        self.dismiss(True)

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.apply()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.dismiss(False)
