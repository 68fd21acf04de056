"""`s2v export`: the rendered film handed to an editor as a Jianying/CapCut draft folder.

Every file the draft uses is in the folder (`media/`): a clean picture per shot (the segment's picture
without burned subtitles, encoded like a segment: the shot's exact frames, the project's size and
fps), the shot's narration as the film mixes it, and the music. A picture an earlier export into the
same folder made of the same segment is reused, not encoded again. The folder is built beside the target
and swapped in whole, so a failed export leaves the previous one (or nothing); a target that holds
anything but an earlier s2v export is refused before anything is written.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import utcnow
from s2v_tui.engine import recipes
from s2v_tui.media.fonts import cjk_font
from s2v_tui.media.kenburns import MotionPlan, MotionRenderer
from s2v_tui.media.segment import EncodeSettings, SegmentJob, SegmentSource, encode_segment
from s2v_tui.storage.atomic import sha256_file
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.jianying import MEDIA, DraftMedia, write_draft
from s2v_tui.workspace.timeline import ShotSpan, Timeline, rendered_timeline

MARKER = "s2v-export.json"
"""Names a folder as an s2v export, which a later export may replace."""
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Exported:
    folder: Path
    draft: Path
    shots: int
    seconds: float


def check_target(target: Path, project_folder: ProjectFolder) -> Path:
    """The export folder, if s2v may write it: new, empty, or an earlier s2v export — never the project
    folder or anything inside its assets, never through a symbolic link."""
    target = Path(target).expanduser().absolute()
    if target.is_symlink() or target.parent.is_symlink():
        raise BadInputError(f"{target} is a symbolic link", hint="export into a real folder")
    resolved = target.resolve()
    project = project_folder.path
    if resolved == project or resolved in project.parents or project_folder.assets_dir in (resolved, *resolved.parents):
        raise BadInputError(f"{target} holds the project itself", hint="export to a folder of its own, "
                            f"e.g. {project / 'output' / 'jianying'}")
    if resolved.exists():
        if not resolved.is_dir():
            raise BadInputError(f"{target} is a file", hint="give a folder for the draft")
        if any(resolved.iterdir()) and not (resolved / MARKER).is_file():
            raise BadInputError(f"{target} is not empty and not an earlier s2v export",
                                hint="give a new or empty folder (an earlier export to it is replaced)")
    return resolved


async def _picture(folder: ProjectFolder, span: ShotSpan, enc: EncodeSettings, out: Path, workdir: Path,
                   on_progress: Callable[[float], None]) -> None:
    """The shot's picture as its segment has it, without subtitles or sound."""
    if span.clip.meta.get("kind") == "motion":
        plan = MotionPlan.model_validate_json(folder.resolve(span.clip.path).read_text(encoding="utf-8"))
        renderer = await asyncio.to_thread(MotionRenderer, folder.resolve(span.keyframe.path), plan,
                                           (enc.width, enc.height), enc.fps, span.frames)
        source = SegmentSource(motion=renderer)
    else:
        source = SegmentSource(clip=folder.resolve(span.clip.path), clip_duration=float(span.clip.meta.get("duration", 0)))
    job = SegmentJob(source, voice_wav=None, subtitles_ass=None, fonts_dir=cjk_font().folder, frames=span.frames,
                     enc=enc, out_mp4=out, out_wav=workdir / f"{span.shot_id}-silence.wav")
    await encode_segment(job, workdir=workdir, on_progress=on_progress)


def _earlier_pictures(target: Path) -> dict[str, dict[str, str]]:
    """The pictures an earlier export into `target` made: file name → the segment it shows, its sha256."""
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
        pictures = marker.get("pictures", {})
        return {str(k): {"segment": str(v["segment"]), "sha256": str(v["sha256"])} for k, v in pictures.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _reuse(earlier: Path, expected_sha: str, out: Path) -> bool:
    """Link (else copy) an earlier export's picture of the same segment instead of encoding it again."""
    if earlier.is_symlink() or not earlier.is_file() or sha256_file(earlier) != expected_sha:
        return False
    try:
        os.link(earlier, out)
    except OSError:
        shutil.copyfile(earlier, out)
    return True


async def _gather_media(folder: ProjectFolder, timeline: Timeline, enc: EncodeSettings, staging: Path, target: Path,
                        on_progress: Progress) -> tuple[DraftMedia, dict[str, dict[str, str]]]:
    media = staging / MEDIA
    media.mkdir(parents=True)
    workdir = staging / ".work"
    workdir.mkdir()
    earlier = _earlier_pictures(target)
    pictures, narrations, made = [], [], {}
    total = max(1, timeline.frames)
    for span in timeline.shots:
        done = span.start_frame / total

        def progress(fraction: float, done: float = done, span: ShotSpan = span) -> None:
            on_progress(done + fraction * span.frames / total, f"picture of {span.shot_id}")

        name = f"{span.shot_id}.mp4"
        before = earlier.get(name, {})
        if before.get("segment") != span.segment.input_hash or not _reuse(target / MEDIA / name, before["sha256"],
                                                                          media / name):
            await _picture(folder, span, enc, media / name, workdir, progress)
        pictures.append(name)
        made[name] = {"segment": span.segment.input_hash, "sha256": sha256_file(media / name)}
        narrations.append(f"{span.shot_id}-narration.wav")
        shutil.copyfile(folder.resolve(span.narration_wav), media / narrations[-1])
    music = None
    if timeline.music is not None:
        music = f"music{timeline.music.suffix.lower()[:8]}"
        shutil.copyfile(timeline.music, media / music)
    shutil.rmtree(workdir)
    return DraftMedia(staging, pictures, narrations, music), made


def _swap_in(staging: Path, target: Path) -> None:
    """Replace `target` (absent, empty, or an earlier export) with the finished `staging` folder."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


async def export_jianying(folder: ProjectFolder, project: Project, settings: Settings, target: Path, *,
                          media_root: str | None = None, on_progress: Progress | None = None) -> Exported:
    """Write the rendered film as a Jianying/CapCut draft folder at `target` (see the module docstring).

    Raises:
        BadInputError: the film is not rendered or out of date, or `target` is not s2v's to write.
    """
    timeline = rendered_timeline(folder, project, settings.render)
    target = check_target(target, folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.s2v-{uuid.uuid4().hex[:8]}")
    enc = recipes.encode_settings(project, settings.render)
    try:
        media, pictures = await _gather_media(folder, timeline, enc, staging, target, on_progress or (lambda f, m: None))
        root = (media_root or str(target)).replace("\\", "/")
        draft = await asyncio.to_thread(write_draft, timeline, media, media_root=root, name=target.name)
        marker = {"project": project.id, "title": project.title, "exported_at": utcnow().isoformat(),
                  "draft": draft.name, "media_root": root, "pictures": pictures}
        (staging / MARKER).write_text(json.dumps(marker, ensure_ascii=False, indent=1), encoding="utf-8")
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported(target, target / draft.name, len(timeline.shots), timeline.seconds(timeline.frames))
