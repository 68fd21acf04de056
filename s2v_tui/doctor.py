"""`s2v doctor`: is this machine and config ready to render? A table of checks, each with what to fix.

Checks: the config loads; which backend each stage uses (and that it can be built); which keys are
set (never their values); whether every endpoint the chosen backends call answers (short timeout) —
for ComfyUI, that each host is ComfyUI and has every model and node the configured workflows need;
the ffmpeg binary; the CJK subtitle font; espeak-ng voices. Exit 0 when everything the configured
backends need is OK, 1 otherwise. Checks of things nothing needs are shown but never fail the run.
Plain rich output, no Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from s2v_tui.config import STAGES, Settings, load_settings
from s2v_tui.domain.errors import S2VError
from s2v_tui.preflight import missing_for_run

TIMEOUT = 3.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True


KEY_NAMES = ("DASHSCOPE_API_KEY", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "PIXVERSE_API_KEY",
             "S2V_OPENAI_COMPAT__API_KEY")


def _key_checks(settings: Settings) -> list[Check]:
    """Every key: set, unused, or missing for a chosen backend (the same rules a run checks first: preflight)."""
    values = {"DASHSCOPE_API_KEY": settings.dashscope.api_key, "OSS_ACCESS_KEY_ID": settings.oss.access_key_id,
              "OSS_ACCESS_KEY_SECRET": settings.oss.access_key_secret, "PIXVERSE_API_KEY": settings.pixverse.api_key,
              "S2V_OPENAI_COMPAT__API_KEY": settings.openai_compat.api_key}
    missing = {item.needs: item for item in missing_for_run(settings)}
    checks = []
    for env in KEY_NAMES:
        value = values[env]
        if env in missing:
            checks.append(Check(f"key {env}", False, f"not set ({missing[env].message})", missing[env].error().hint or ""))
        else:
            is_set = bool(value and value.get_secret_value().strip())
            checks.append(Check(f"key {env}", is_set, "set" if is_set else "not set", needed=is_set))
    return checks


def _endpoints(settings: Settings, used: set[str]) -> list[tuple[str, str]]:
    """(label, URL) of every endpoint the chosen backends call."""
    from s2v_tui.backends.dashscope.client import endpoints

    found: list[tuple[str, str]] = []
    if "dashscope" in used:
        ds = endpoints(settings.dashscope)
        found += [("DashScope HTTP", ds.http), ("DashScope WebSocket", ds.websocket)]
        if settings.dashscope.image_handover == "oss" and settings.backend_for("clip") == "dashscope":
            endpoint = settings.oss.endpoint
            found.append(("OSS", endpoint if "://" in endpoint else f"https://{endpoint}"))
    if "openai_compat" in used:
        from s2v_tui.backends.openai_compat.storyboard import OpenAICompatStoryboard

        found.append(("OpenAI-compatible", OpenAICompatStoryboard(settings).base_url))
    if "pixverse" in used:
        found.append(("PixVerse", settings.pixverse.base_url))
    if "ollama" in used:
        found.append(("Ollama", settings.ollama.url))
    if "cosyvoice" in used and settings.cosyvoice.url:
        found.append(("CosyVoice (local)", settings.cosyvoice.url))
    return found


async def _reach(label: str, url: str) -> Check:
    """Any HTTP answer (even 401/404) means the host is there; only network failures count."""
    probe = url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(probe)
        return Check(f"reach {label}", True, f"{httpx.URL(probe).host} answered HTTP {response.status_code}")
    except httpx.HTTPError as exc:
        where = "the base URL or [dashscope] region" if "dashscope" in label.lower() else f"the {label} URL"
        return Check(f"reach {label}", False, f"{httpx.URL(probe).host}: {type(exc).__name__}",
                     f"start the service, or check the network/proxy and {where} in config")


async def _comfy_checks(settings: Settings) -> list[Check]:
    """Each ComfyUI host: is it ComfyUI (version, devices), and can it run the configured workflows."""
    from s2v_tui.backends.comfy.inspect import inspect_host
    from s2v_tui.backends.comfy.workflow import load_workflow
    from s2v_tui.domain.project import parse_size

    comfy = settings.comfy
    workflows = {}
    for stage, kind, workflow, mapping in (("keyframe", "t2i", comfy.t2i_workflow, comfy.t2i_mapping),
                                           ("clip", "i2v", comfy.i2v_workflow, comfy.i2v_mapping)):
        if settings.backend_for(stage) == "comfy":
            with contextlib.suppress(S2VError):  # the backend check already says what is wrong with it
                workflows[f"{stage} workflow"] = load_workflow(kind, workflow, mapping)  # type: ignore[arg-type]
    try:
        size = parse_size(settings.render.size)
    except ValueError:
        size = (720, 1280)
    reports = await asyncio.gather(*(inspect_host(url, workflows, size, TIMEOUT) for url in comfy.hosts))
    return [Check(f.name, f.ok, f.detail, f.fix) for findings in reports for f in findings]


def _backend_checks(settings: Settings) -> tuple[list[Check], set[str]]:
    from s2v_tui.backends.registry import create_backend

    checks, used = [], set()
    for stage in STAGES:
        name = settings.backend_for(stage)
        used.add(name)
        try:
            backend = create_backend(stage, name, settings)
            model = getattr(getattr(backend, "info", None), "model", None)
            checks.append(Check(f"backend {stage}", True, f"{name}{f' ({model})' if model else ''}"))
        except S2VError as exc:
            checks.append(Check(f"backend {stage}", False, f"{name}: {exc.message}", exc.hint or ""))
        except Exception as exc:  # noqa: BLE001 - a missing optional module, a bad workflow file…
            checks.append(Check(f"backend {stage}", False, f"{name}: {type(exc).__name__}: {exc}",
                                "reinstall s2v, or choose another backend in [backends]"))
    return checks, used


def _local_checks(settings: Settings, used: set[str]) -> list[Check]:
    from s2v_tui.media.ffmpeg import ffmpeg_exe
    from s2v_tui.media.fonts import cjk_font

    checks: list[Check] = []
    try:
        exe = ffmpeg_exe()
        version = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10)
        checks.append(Check("ffmpeg", version.returncode == 0, version.stdout.split(" Copyright", 1)[0][:60] or exe,
                            "reinstall imageio-ffmpeg"))
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        checks.append(Check("ffmpeg", False, str(exc)[:80], "pip install --force-reinstall imageio-ffmpeg"))
    try:
        font = cjk_font()
        checks.append(Check("CJK font", True, f"{font.family} ({Path(font.path).name})"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("CJK font", False, str(exc)[:80], "pip install --force-reinstall pylopdf-fonts-zh-cn"))
    offline_voice = settings.backend_for("voice") == "offline"
    checks += _kokoro_checks(settings, offline_voice)
    for language, voice in (("zh", settings.voice.zh), ("en", settings.voice.en)):
        try:
            from s2v_tui.backends.offline.espeak import Espeak

            speech = Espeak.instance().synthesize("你好" if language == "zh" else "hello", voice=voice,
                                                  words_per_minute=settings.voice.words_per_minute)
            checks.append(Check(f"espeak voice {language}", bool(speech.samples), voice,
                                f"set [voice] {language} to an espeak-ng voice", offline_voice))
        except S2VError as exc:
            checks.append(Check(f"espeak voice {language}", False, exc.message, exc.hint or "", offline_voice))
    return checks


def _kokoro_checks(settings: Settings, offline_voice: bool) -> list[Check]:
    """The neural offline voice's model (hash-checked) and styles, when the offline voice would use it."""
    from s2v_tui.backends.offline.kokoro_model import verified_model, voice_data
    from s2v_tui.backends.offline.voice import OfflineVoice

    engines = {OfflineVoice(settings.voice).engine_for(language, None) for language in ("zh", "en")}
    needed = offline_voice and "kokoro" in engines
    try:
        size = len(verified_model())
        styles = voice_data().styles
        wanted = {settings.voice.kokoro_zh, settings.voice.kokoro_en}
        missing = sorted(wanted - set(styles))
        if missing:
            return [Check("Kokoro voice", False, f"no style {', '.join(missing)}",
                          f"use one of {', '.join(sorted(styles))} in [voice] kokoro_zh / kokoro_en", needed)]
        return [Check("Kokoro voice", True, f"model {size // 1_000_000} MB, SHA-256 verified; styles "
                                            f"{', '.join(sorted(wanted))}", "", needed)]
    except S2VError as exc:
        return [Check("Kokoro voice", False, exc.message, exc.hint or "", needed)]


def collect(settings: Settings, *, network: bool = True) -> list[Check]:
    checks = [Check("config", True, "loaded")]
    backend_checks, used = _backend_checks(settings)
    checks += backend_checks + _key_checks(settings)
    if network:
        targets = _endpoints(settings, used)

        async def reach_all() -> list[Check]:
            reached = list(await asyncio.gather(*(_reach(label, url) for label, url in targets)))
            return reached + (await _comfy_checks(settings) if "comfy" in used else [])

        checks += asyncio.run(reach_all())
    return checks + _local_checks(settings, used)


def render(checks: list[Check], console: Console) -> None:
    table = Table(title="s2v doctor", show_lines=False)
    for column in ("check", "status", "detail", "what to fix"):
        table.add_column(column)
    for check in checks:
        status = "[green]OK[/]" if check.ok else ("[red]FAIL[/]" if check.needed else "[dim]unused[/]")
        fix = check.fix if check.needed and not check.ok else ""
        # Details and fixes quote config ("[dashscope] region"): printed as text, never read as markup.
        table.add_row(escape(check.name), status, escape(check.detail), escape(fix))
    console.print(table)


def run_doctor(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="s2v doctor", description="Check config, keys, endpoints and tools.")
    parser.add_argument("--config", type=Path, help="config.toml to check")
    parser.add_argument("--no-network", action="store_true", help="skip the endpoint reachability checks")
    args = parser.parse_args(argv)
    if args.config:
        os.environ["S2V_CONFIG_FILE"] = str(args.config)
    console = Console()
    try:
        settings = load_settings()
    except S2VError as exc:
        render([Check("config", False, exc.message, exc.hint or "")], console)
        return 1
    checks = collect(settings, network=not args.no_network)
    render(checks, console)
    failed = [c for c in checks if c.needed and not c.ok]
    console.print(f"{len(failed)} problem(s) to fix" if failed else "everything the configured backends need is OK")
    return 1 if failed else 0
