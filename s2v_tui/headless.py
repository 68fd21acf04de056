"""`s2v --run`: render a story file or a project folder without the TUI.

Its output is an API: `--json` prints one event per line (the engine's own event models), and the
exit code says how the run ended (`domain.errors.ExitCode`, documented in the README). Textual is
never imported here.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path
from typing import Any

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import AuthError, BadInputError, ConfigError, ExitCode, S2VError
from s2v_tui.domain.events import Event, RunFinished
from s2v_tui.domain.ids import slugify
from s2v_tui.domain.project import MusicSettings, Project, VideoFormat, detect_language, parse_size
from s2v_tui.engine.cancel import CancelToken
from s2v_tui.engine.engine import Engine
from s2v_tui.reporters import HumanReporter, JsonReporter, Reporter
from s2v_tui.storage.project_store import ProjectFolder, ProjectStore

MAX_STORY_BYTES = 1_000_000

BAD_INPUT_CODES = frozenset({BadInputError.code, ConfigError.code, AuthError.code})
STATUS_EXIT = {"done": ExitCode.OK, "partial": ExitCode.PARTIAL, "failed": ExitCode.FAILED,
               "cancelled": ExitCode.INTERRUPTED}


def read_story(path: Path) -> str:
    """The story text; clear errors for missing, binary, empty or huge files."""
    if not path.is_file():
        raise BadInputError(f"story file {path} not found", hint="pass a UTF-8 text file or a project folder")
    data = path.read_bytes()
    if len(data) > MAX_STORY_BYTES:
        raise BadInputError(f"{path} is {len(data) // 1024} KB; a story is at most {MAX_STORY_BYTES // 1000} KB",
                            hint="split it into several stories")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path} is not UTF-8 text (byte {exc.start})",
                            hint="save it as UTF-8 (in most editors: Save As → Encoding UTF-8)") from None
    if "\x00" in text:
        raise BadInputError(f"{path} looks like a binary file", hint="pass a plain text story")
    if not text.strip():
        raise BadInputError(f"{path} is empty", hint="write the story first")
    return text


def title_of(text: str, fallback: str) -> str:
    match = re.search(r"^\s*#\s+(.+?)\s*#*\s*$", text, re.M)
    return match.group(1).strip() if match else fallback


def new_project(text: str, *, story: Path, settings: Settings, options: dict[str, Any]) -> Project:
    title = options.get("title") or title_of(text, story.stem.split(".")[0])
    try:
        width, height = parse_size(options.get("size") or settings.render.size)
    except ValueError as exc:
        raise BadInputError(str(exc), hint="use --size 9:16, 16:9, 1:1 or WIDTHxHEIGHT") from None
    music = options.get("music")
    if music is not None and not Path(music).is_file():
        raise BadInputError(f"music file {music} not found", hint="pass an existing audio file to --music")
    return Project(
        id=slugify(title), title=title, script=text, style=options.get("style") or "",
        music=MusicSettings(path=str(Path(music).resolve())) if music else MusicSettings(),
        language=options.get("language") or detect_language(text),
        format=VideoFormat(width=width, height=height, fps=settings.render.fps),
    )


def open_or_create(target: Path, settings: Settings, options: dict[str, Any]) -> tuple[ProjectFolder, Project]:
    """A locked project folder for `target` (a project folder, or a story file → new project)."""
    if target.is_dir():
        folder = ProjectFolder(target).lock()
        return folder, folder.load()
    text = read_story(target)
    out = options.get("out")
    if out and ProjectFolder(Path(out)).exists():
        folder = ProjectFolder(Path(out)).lock()
        project = folder.load()
        if project.script.strip() != text.strip():
            folder.unlock()
            raise BadInputError(f"{folder.path} already holds a project made from a different script",
                                hint=f"choose another --out, or continue that project with `s2v --run {folder.path}`")
        return folder, project
    project = new_project(text, story=target, settings=settings, options=options)
    store = ProjectStore(settings.projects_dir)
    folder = store.create(project, Path(out) if out else None)
    return folder, project


async def _run(target: Path, settings: Settings, reporter: Reporter, options: dict[str, Any]) -> ExitCode:
    backends = BackendSet.from_settings(settings)  # unknown backend names fail before anything is written
    folder, project = open_or_create(target, settings, options)
    reporter.project_opened(folder.path, project)
    engine = Engine(folder, settings, backends)
    cancel = CancelToken()
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise SystemExit(int(ExitCode.INTERRUPTED))
        reporter.note("interrupt: stopping cleanly (press Ctrl-C again to quit at once)")
        cancel.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_interrupt)
    finished: RunFinished | None = None
    try:
        event: Event
        async for event in engine.run(project, shots=options.get("shots"),
                                      storyboard="regenerate" if options.get("regenerate") else "auto",
                                      cancel=cancel):
            reporter.event(event)
            if isinstance(event, RunFinished):
                finished = event
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await engine.aclose()
        folder.unlock()
    if finished is None:
        return ExitCode.INTERRUPTED if cancel.cancelled else ExitCode.ERROR
    if finished.status == "failed" and finished.failures and all(
            f.error.code in BAD_INPUT_CODES for f in finished.failures):
        return ExitCode.BAD_INPUT  # nothing could run: a script with no sentences, a missing API key…
    return STATUS_EXIT[finished.status]


def run_headless(target: Path, settings: Settings, *, json_lines: bool, options: dict[str, Any]) -> int:
    reporter: Reporter = JsonReporter(sys.stdout) if json_lines else HumanReporter(sys.stderr)
    try:
        code = asyncio.run(_run(target, settings, reporter, options))
    except S2VError as exc:
        reporter.error(exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    reporter.close()
    return int(code)
