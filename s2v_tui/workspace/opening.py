"""Opening a project folder, or creating one from a story, with every option checked first.

The order is the promise: options are validated, the target is recognised as a project (or a story
file, or a new/empty folder) and the music file is probed *before* anything is locked or written, so a
refused run leaves every file as it was — and s2v never turns someone else's folder into a project.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from s2v_tui.config import STAGES, Settings
from s2v_tui.domain.errors import AuthError, BadInputError, ConfigError, MediaError
from s2v_tui.domain.ids import slugify, validate_id
from s2v_tui.domain.project import Language, MusicSettings, Project, VideoFormat, detect_language, parse_size
from s2v_tui.engine.plan import music_file
from s2v_tui.media.probe import verify_audio
from s2v_tui.preflight import missing_for_run
from s2v_tui.storage.atomic import atomic_output, sha256_file
from s2v_tui.storage.project_store import ProjectFolder, ProjectStore
from s2v_tui.workspace.stories import read_story, title_of

MUSIC_FOLDER = "assets/music"


@dataclass
class RunOptions:
    """What a front end may ask of a run. Fields that shape a new project are refused for an existing one."""

    out: Path | None = None
    title: str | None = None
    style: str | None = None
    size: str | None = None
    language: Language | None = None
    music: Path | None = None
    regenerate: bool = False
    shots: list[str] | None = None
    size_wh: tuple[int, int] | None = field(default=None, init=False)

    def check(self) -> RunOptions:
        """Validate what can be checked without a project; raises BadInputError naming the option."""
        if self.size is not None:
            try:
                self.size_wh = parse_size(self.size)
            except ValueError as exc:
                raise BadInputError(f"--size: {exc}", hint="use --size 9:16, 16:9, 1:1 or WIDTHxHEIGHT") from None
        if self.shots is not None:
            if not self.shots or any(not s.strip() for s in self.shots):
                raise BadInputError(f"--shots {','.join(self.shots)!r} has an empty item",
                                    hint="list shot ids separated by commas, e.g. --shots shot_02,shot_05")
            self.shots = [validate_id(s.strip(), what="shot id in --shots") for s in self.shots]
        if self.music is not None:
            check_music_file(self.music)
        return self


def check_music_file(path: Path) -> None:
    """The file exists and decodes as audio (checked before any work, not after the render)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInputError(f"music file {path} not found", hint="pass an existing audio file to --music")
    try:
        verify_audio(path)
    except MediaError as exc:
        raise BadInputError(f"music file {path} is not usable audio: {exc.message}",
                            hint="pass an audio file ffmpeg can decode (mp3, m4a, wav, ogg, flac)") from None


def new_project(text: str, *, story: Path, settings: Settings, options: RunOptions) -> Project:
    """A project for `text` (not yet on disk)."""
    title = (options.title or title_of(text, Path(story).stem.split(".")[0])).strip()[:200] or "story"
    width, height = options.size_wh or parse_size(settings.render.size)
    return Project(
        id=slugify(title), title=title, script=text, style=options.style or "",
        language=options.language or detect_language(text),
        format=VideoFormat(width=width, height=height, fps=settings.render.fps),
    )


def import_music(folder: ProjectFolder, project: Project, source: Path) -> None:
    """Copy the music into the project (content-addressed) and point the project at the copy: a project
    never reads a file outside its folder, so it can be moved or shared with its music."""
    source = Path(source).expanduser()
    relative = f"{MUSIC_FOLDER}/{sha256_file(source)[:16]}{source.suffix.lower()[:8]}"
    target = folder.resolve(relative)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp:
            shutil.copyfile(source, tmp)
    project.music = MusicSettings(path=relative, volume_db=project.music.volume_db, ducking=project.music.ducking)


def refuse_missing_backends(settings: Settings, stages: Iterable[str] = STAGES) -> None:
    """One error naming everything the chosen backends lack (keys, servers), before anything is made."""
    missing = missing_for_run(settings, stages)
    if not missing:
        return
    errors = [item.error() for item in missing]
    if len(errors) == 1:
        raise errors[0]
    kind = AuthError if any(isinstance(e, AuthError) for e in errors) else ConfigError
    raise kind("; ".join(e.message for e in errors), hint=" · ".join(dict.fromkeys(e.hint or "" for e in errors)))


def _refuse_new_project_options(project: Project, options: RunOptions) -> None:
    given = {
        "--title": options.title is not None and options.title != project.title,
        "--style": options.style is not None and options.style != project.style,
        "--lang": options.language is not None and options.language != project.language,
        "--size": options.size_wh is not None and options.size_wh != (project.format.width, project.format.height),
    }
    refused = [name for name, differs in given.items() if differs]
    if refused:
        raise BadInputError(f"{', '.join(refused)} only apply when a project is created; {project.id} already exists",
                            hint="change them in the studio (or project.json), or start a new project with another --out")


def _unknown_shots(project: Project, options: RunOptions) -> None:
    if options.shots is None:
        return
    unknown = sorted(set(options.shots) - {shot.id for shot in project.shots})
    if unknown:
        known = ", ".join(shot.id for shot in project.shots) or "none yet"
        raise BadInputError(f"--shots: unknown shot ids {', '.join(unknown)}", hint=f"the project's shots: {known}")


def _opened(folder: ProjectFolder, settings: Settings, options: RunOptions) -> tuple[ProjectFolder, Project]:
    """Lock and load an existing project, then apply the options that may change it."""
    folder.lock()
    try:
        project = folder.load()
        _refuse_new_project_options(project, options)
        _unknown_shots(project, options)
        if options.music is not None:
            import_music(folder, project, options.music)
            folder.save(project)
        else:
            music_file(project, folder)  # a project's own music must be inside it and exist
    except BaseException:
        folder.unlock()
        raise
    return folder, project


def open_or_create(target: Path, settings: Settings, options: RunOptions) -> tuple[ProjectFolder, Project]:
    """A locked project folder for `target`: a project folder (resume), or a story file (new project,
    in `options.out` or under `settings.projects_dir`; an `--out` that already holds the project made
    from the same story is resumed)."""
    options.check()
    target = Path(target).expanduser()
    if target.is_dir():
        folder = ProjectFolder(target)
        if not folder.exists():
            raise BadInputError(f"no project at {folder.path} (project.json not found)",
                                hint="pass a story file to start a new project, or a folder made by s2v")
        return _opened(folder, settings, options)
    text = read_story(target)
    out = Path(options.out).expanduser() if options.out else None
    if out is not None and ProjectFolder(out).exists():
        folder, project = _opened(ProjectFolder(out), settings, options)
        if project.script.strip() != text.strip():
            folder.unlock()
            raise BadInputError(f"{folder.path} already holds a project made from a different script",
                                hint=f"choose another --out, or continue that project with `s2v --run {folder.path}`")
        return folder, project
    if options.shots is not None:
        raise BadInputError("--shots needs an existing project (a new one has no shots yet)",
                            hint="run the story once, then pass its project folder with --shots")
    refuse_missing_backends(settings)  # a new project calls every stage: say what is missing before creating it
    project = new_project(text, story=target, settings=settings, options=options)
    folder = ProjectStore(settings.projects_dir).create(project, out)
    if options.music is not None:
        import_music(folder, project, options.music)
        folder.save(project)
    return folder, project
