"""Settings: `config.toml` + environment, with pydantic-settings.

Precedence (highest first): values passed in code/CLI > `S2V_*` env vars (nested with `__`, e.g.
`S2V_RENDER__FPS=24`) > the original service's env names (`DASHSCOPE_API_KEY`, `COMFY_HOSTS_LIST`…,
see `SEED_ENV`) > the TOML file > defaults. The TOML file is `$S2V_CONFIG_FILE`, else `./config.toml`,
else the user config dir's `s2v/config.toml`. Every key is documented in `config.example.toml`.
API keys are `SecretStr` and registered for redaction the moment settings load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_config_path
from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from s2v_tui.domain.errors import ConfigError, register_secret
from s2v_tui.domain.project import parse_size
from s2v_tui.domain.shot import MAX_TAKES

STAGES = ("storyboard", "keyframe", "clip", "voice")


def _strip_secret(value: Any) -> Any:
    """Keys pasted with a space or newline around them: the key is what is inside (and only that is sent)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


Secret = Annotated[SecretStr | None, BeforeValidator(_strip_secret)]
"""An API key or token: stripped of surrounding whitespace, empty means unset, never printed."""


class BackendChoice(BaseModel):
    """Backend name per stage; None = decided by the `local_inference` preset (offline when unset)."""

    storyboard: str | None = None
    keyframe: str | None = None
    clip: str | None = None
    voice: str | None = None


class RenderSettings(BaseModel):
    size: str = "9:16"
    """Default size of new projects: 9:16 (720x1280), 16:9 (1280x720), 1:1 (1080x1080) or WxH."""

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        parse_size(value)  # raises ValueError, reported as "bad setting render.size: …"
        return value
    fps: int = Field(default=30, ge=5, le=60)
    tail_seconds: float = Field(default=0.6, ge=0, le=5)
    """Silence after each shot's narration."""
    min_shot_seconds: float = Field(default=2.0, ge=0.5, le=30)
    preset: str = "veryfast"
    """x264 preset used for every segment (identical for all, so the final join is a stream copy)."""
    crf: int = Field(default=23, ge=0, le=51)
    sample_rate: int = 44100
    loudness_lufs: float = Field(default=-16.0, ge=-40, le=-5)
    allow_partial: bool = False
    """Join the shots that succeeded even when others failed."""
    workers: int = Field(default=2, ge=1, le=16)
    """Concurrent CPU-heavy jobs (keyframe painting, segment encodes)."""


class VoiceDefaults(BaseModel):
    engine: Literal["auto", "kokoro", "espeak"] = "auto"
    """Offline speech engine: "kokoro" (neural, Kokoro-82M), "espeak" (espeak-ng: fast, robotic), or "auto":
    the one measured most intelligible per language (benchmarks/asr_offline.py) — Kokoro for Chinese and English."""
    zh: str = "cmn"
    """espeak-ng voice for Chinese."""
    en: str = "en-us"
    """espeak-ng voice for English."""
    words_per_minute: int = Field(default=165, ge=80, le=400)
    """espeak-ng base rate; the project's rate multiplier scales it."""
    kokoro_zh: str = "jm_kumo"
    """Kokoro voice style for Chinese (only Japanese speakers ship: jf_alpha, jf_gongitsune, jf_nezumi,
    jf_tebukuro, jm_kumo)."""
    kokoro_en: str = "jm_kumo"
    """Kokoro voice style for English."""
    kokoro_threads: int = Field(default=2, ge=1, le=16)
    """ONNX Runtime threads of the Kokoro worker process (one process, so the model loads once). Its threads
    do not spin when idle, so they yield the cores to painting and encoding whenever they wait."""


class RetrySettings(BaseModel):
    attempts: int = Field(default=3, ge=1, le=20)
    """API_RETRY_ATTEMPTS: tries per call for transient errors (429, 5xx, timeouts)."""
    base_delay: float = Field(default=2.0, ge=0, le=120)
    """API_RETRY_BASE_DELAY: first backoff in seconds; doubles each try, with jitter."""
    max_delay: float = Field(default=60.0, ge=0)
    download_attempts: int = Field(default=5, ge=1, le=50)
    """Tries to download a finished (paid) result from the same link before the stage counts a failure;
    a failed download never generates (and pays for) the result again while its link is valid."""


class DashScopeSettings(BaseModel):
    api_key: Secret = None
    region: Literal["beijing", "singapore", "us"] = "beijing"
    http_base_url: str | None = None
    websocket_base_url: str | None = None
    compatible_base_url: str | None = None
    llm_model: str = "qwen-plus"
    image_model: str = "qwen-image-plus"
    image_size: str | None = None
    """DEFAULT_IMAGE_SIZE; None = follow the project's aspect."""
    video_model: str = "wan2.5-i2v-preview"
    video_resolution: str = "480P"
    image_handover: Literal["oss", "upload", "data_uri"] = "data_uri"
    """How a keyframe reaches Wan: OSS presigned URL, DashScope temporary upload, or inline data URI."""
    tts_model: str = "cosyvoice-v2"
    tts_voice: str = "longxiaochun_v2"
    lanes: int = Field(default=2, ge=1, le=32)
    poll_interval: float = Field(default=5.0, ge=0.01)
    poll_deadline: float = Field(default=1800.0, ge=1)
    request_timeout: float = Field(default=60.0, ge=1)
    """Seconds one DashScope HTTP request (or CosyVoice synthesis) may take before it is retried."""
    prompt_extend: bool = False
    """Let DashScope rewrite image/video prompts (the seed turned it off: output follows the shot's detail)."""


class OssSettings(BaseModel):
    endpoint: str = "oss-cn-beijing.aliyuncs.com"
    access_key_id: Secret = None
    access_key_secret: Secret = None
    bucket: str = "bytedance-s2v"
    url_expires: int = Field(default=86400, ge=60)
    prefix: str = "s2v"


class PixVerseSettings(BaseModel):
    api_key: Secret = None
    base_url: str = "https://app-api.pixverse.ai"
    model: str = "v5"
    quality: str = "540p"
    max_concurrency: int = Field(default=2, ge=1, le=32)
    poll_interval: float = Field(default=5.0, ge=0.01)
    poll_deadline: float = Field(default=1800.0, ge=1)


class ComfySettings(BaseModel):
    hosts: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8188"])
    t2i_workflow: str | None = None
    """API-format T2I workflow JSON, or `bundled:<name>`; None = the bundled SD1.5 template."""
    i2v_workflow: str | None = None
    per_host_concurrency: int = Field(default=1, ge=1, le=16)
    job_deadline: float = Field(default=1800.0, ge=1)
    stall_timeout: float = Field(default=300.0, ge=1)
    """Fail over when a host sends no progress for this long."""
    start_timeout: float = Field(default=120.0, ge=0.1)
    """A prompt still waiting in a host's queue (behind other prompts) after this long moves to an idle host."""
    t2i_mapping: str | None = None
    """Patch-point mapping of t2i_workflow; None = the sidecar `<workflow>.mapping.json`."""
    i2v_mapping: str | None = None
    """Patch-point mapping of i2v_workflow; None = the sidecar `<workflow>.mapping.json`."""
    poll_interval: float = Field(default=2.0, ge=0.01, le=60)
    """Seconds between `/history` checks while waiting (always on, so a lost WebSocket costs nothing)."""
    reprobe_after: float = Field(default=30.0, ge=0.1)
    """A host that failed is skipped for this long, then health-checked (`/system_stats`) again."""
    request_timeout: float = Field(default=30.0, ge=0.1)
    """Timeout of each HTTP request and of the WebSocket handshake (not of the whole job)."""

    @field_validator("hosts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value


class OllamaSettings(BaseModel):
    url: str = "http://127.0.0.1:11434"
    """OLLAMA_URL; a seed-style URL ending in /api/generate or /api/chat is accepted (the path is dropped)."""
    model: str = "qwen3"
    temperature: float = Field(default=0.7, ge=0, le=2)
    num_ctx: int = Field(default=8192, ge=512)
    """Context window; Ollama's default (2048) cuts off long scripts."""
    think: bool | None = None
    """Thinking mode for models that have one (qwen3); None = the server default, False = faster answers."""
    timeout: float = Field(default=600.0, ge=1)
    """Seconds one chat round-trip may take (a local model on CPU is slow)."""


class OpenAICompatSettings(BaseModel):
    base_url: str = "https://dashscope.aliyuncs.com/compatible-mode/v1"
    api_key: Secret = None
    model: str = "qwen-plus"


class CosyVoiceLocalSettings(BaseModel):
    url: str | None = None
    """COSYVOICE_URL: the TTS endpoint itself, e.g. http://localhost:9233/v1/tts."""
    speaker: str = "xiaoyue"
    """Default speaker when the project sets no voice."""
    response: Literal["audio", "json_base64"] = "audio"
    """"audio": the body is the audio file; "json_base64": a JSON object with the audio base64-encoded."""
    audio_field: str = "audio"
    """JSON field holding the base64 audio (response = "json_base64"); dotted paths like "data.audio" work."""
    pcm_sample_rate: int = Field(default=22050, ge=8000, le=96000)
    """Sample rate of headerless 16-bit PCM answers (audio/pcm without a rate parameter)."""
    timeout: float = Field(default=120.0, ge=1)


class TakesSettings(BaseModel):
    keep: int = Field(default=5, ge=1, le=MAX_TAKES)
    """Takes kept per shot and stage (keyframe, voice, clip), the chosen one included; beyond that the
    oldest unchosen takes are deleted."""


class FakeSettings(BaseModel):
    latency: float = Field(default=0.0, ge=0)
    fail: list[str] = Field(default_factory=list)
    """"shot_02:keyframe"-style entries the fake backends fail on (for demos and tests)."""


class ServeSettings(BaseModel):
    """`s2v serve`: the original service's HTTP API over the same engine."""

    host: str = "127.0.0.1"
    """Address to listen on; anything but loopback needs `token`."""
    port: int = Field(default=12345, ge=0, le=65535)
    """SERVICE_PORT, as the original service."""
    token: Secret = None
    """S2V_SERVE_TOKEN: bearer token every request must carry (required to listen beyond loopback)."""
    public_url: str | None = None
    """Base of the /static URLs in responses (e.g. https://s2v.example.com); None = relative "/static/…"."""
    max_running: int = Field(default=8, ge=1, le=256)
    """Operations that run at once (they share the per-provider lanes); the rest wait in the queue."""
    max_queue: int = Field(default=32, ge=0, le=10_000)
    """Operations that may wait for a free slot; beyond it a POST gets 503 with Retry-After."""
    max_body_bytes: int = Field(default=262_144, ge=1024)
    """Largest request body accepted (413 beyond it); a story is at most 20 000 characters."""
    static_url_expires: int = Field(default=86_400, ge=60)
    """Lifetime in seconds of signed /static links (signed only when a token is set)."""


SEED_ENV: dict[str, tuple[str, ...]] = {
    "LOCAL_INFERENCE": ("local_inference",),
    "DASHSCOPE_API_KEY": ("dashscope", "api_key"),
    "DASHSCOPE_IMAGE_MODEL": ("dashscope", "image_model"),
    "DEFAULT_IMAGE_SIZE": ("dashscope", "image_size"),
    "API_RETRY_ATTEMPTS": ("retry", "attempts"),
    "API_RETRY_BASE_DELAY": ("retry", "base_delay"),
    "OSS_ENDPOINT": ("oss", "endpoint"),
    "OSS_ACCESS_KEY_ID": ("oss", "access_key_id"),
    "OSS_ACCESS_KEY_SECRET": ("oss", "access_key_secret"),
    "OSS_BUCKET": ("oss", "bucket"),
    "OSS_URL_EXPIRES": ("oss", "url_expires"),
    "COMFY_HOSTS_LIST": ("comfy", "hosts"),
    "PIXVERSE_API_KEY": ("pixverse", "api_key"),
    "PIXVERSE_BASE_URL": ("pixverse", "base_url"),
    "PIXVERSE_MAX_CONCURRENCY": ("pixverse", "max_concurrency"),
    "PIXVERSE_MODEL": ("pixverse", "model"),
    "OLLAMA_URL": ("ollama", "url"),
    "COSYVOICE_URL": ("cosyvoice", "url"),
    "SERVICE_PORT": ("serve", "port"),
    "S2V_SERVE_TOKEN": ("serve", "token"),  # not the seed's, but the name the service documents
}
"""The original service's environment names and where they land."""


class SeedEnvSource(PydanticBaseSettingsSource):
    """Reads the seed's un-prefixed env names (`SEED_ENV`) into nested settings."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for env_name, path in SEED_ENV.items():
            value = os.environ.get(env_name)
            if value is None or value == "":
                continue
            node = result
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        return result


def config_file_path() -> Path:
    explicit = os.environ.get("S2V_CONFIG_FILE")
    if explicit:
        path = Path(explicit).expanduser()
        if explicit == os.devnull:  # "no config file at all" (used by tests and scripts)
            return path
        if not path.is_file():  # a file the user named must exist: running on defaults instead would mislead
            raise ConfigError(f"config file {path} {'is a folder' if path.is_dir() else 'not found'}",
                              hint="pass an existing config.toml (--config FILE or S2V_CONFIG_FILE), "
                                   "or unset it to use the defaults")
        return path
    local = Path("config.toml")
    if local.is_file():
        return local
    return user_config_path("s2v") / "config.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="S2V_", env_nested_delimiter="__", env_ignore_empty=True, extra="ignore"
    )

    projects_dir: Path = Path("~/s2v-projects")
    """Where new projects are created when `--out` is not given."""
    local_inference: bool | None = None
    """LOCAL_INFERENCE preset: unset = offline; true = ComfyUI + Ollama + local CosyVoice; false = cloud."""
    backends: BackendChoice = Field(default_factory=BackendChoice)
    render: RenderSettings = Field(default_factory=RenderSettings)
    voice: VoiceDefaults = Field(default_factory=VoiceDefaults)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    dashscope: DashScopeSettings = Field(default_factory=DashScopeSettings)
    oss: OssSettings = Field(default_factory=OssSettings)
    pixverse: PixVerseSettings = Field(default_factory=PixVerseSettings)
    comfy: ComfySettings = Field(default_factory=ComfySettings)
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    openai_compat: OpenAICompatSettings = Field(default_factory=OpenAICompatSettings)
    cosyvoice: CosyVoiceLocalSettings = Field(default_factory=CosyVoiceLocalSettings)
    takes: TakesSettings = Field(default_factory=TakesSettings)
    fake: FakeSettings = Field(default_factory=FakeSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    keymap: dict[str, str] = Field(default_factory=dict)
    """TUI binding id → keys, e.g. {"render-all" = "ctrl+r"}."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return init_settings, env_settings, SeedEnvSource(settings_cls), toml

    def secrets(self) -> list[SecretStr]:
        """Every configured secret (any `SecretStr` field of any section, so a new key is never missed)."""
        found: list[SecretStr] = []
        for section in (self, *(v for v in self.__dict__.values() if isinstance(v, BaseModel))):
            found += [v for v in section.__dict__.values() if isinstance(v, SecretStr)]
        return found

    @model_validator(mode="after")
    def _register_secrets(self) -> Settings:
        # However settings are made (file, env, code), their keys are redacted from then on.
        for secret in self.secrets():
            register_secret(secret.get_secret_value())
        return self

    def backend_for(self, stage: str) -> str:
        """The backend name for a stage: explicit choice, else the preset."""
        explicit = getattr(self.backends, stage)
        if explicit:
            return str(explicit)
        if self.local_inference is None:
            return "offline"
        if self.local_inference:
            local = {"storyboard": "ollama", "keyframe": "comfy", "clip": "comfy",
                     "voice": "cosyvoice" if self.cosyvoice.url else "offline"}
            return local[stage]
        return {"storyboard": "dashscope", "keyframe": "dashscope", "clip": "dashscope", "voice": "dashscope"}[stage]


def load_settings(**overrides: Any) -> Settings:
    """Load settings (their secrets are registered for redaction as they validate).

    Raises:
        ConfigError: naming the bad key and file when the config does not validate, or when a config
            file named by --config / S2V_CONFIG_FILE does not exist.
    """
    path = config_file_path()
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"bad setting {where}: {first['msg']}",
                          hint=f"check {path} and your S2V_*/seed environment variables") from None
    except ValueError as exc:  # TOML syntax errors
        raise ConfigError(f"cannot read {path}: {exc}", hint="fix the TOML syntax") from None
    return settings
