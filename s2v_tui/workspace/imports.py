"""A user's own keyframe, clip or voice for a shot: checked, copied into the project, chosen.

The file is first only read, where it is, to check it (it decodes; its size and length are sensible),
so a refused file leaves the project exactly as it was. Then it is copied into the shot's assets under
a content-addressed name — a PNG or JPEG picture byte for byte; other pictures, and photos a camera
marked as rotated, as PNG; a voice as the mono WAV every voice asset is — committed with a record like
any asset (a crash never leaves half of it), and made the stage's chosen take with `backend: "user"`.
It is pinned: the stage never replaces it until it is regenerated or another take is chosen. The
stages after it rebuild from it on the next run: a clip longer than the shot is cut, a shorter one is
held on its last frame, and subtitles are timed from a user's voice (spread by sentence length).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from s2v_tui.domain.errors import BadInputError, MediaError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import USER_BACKEND, Asset, Pin, Stage, StageStatus, Take
from s2v_tui.domain.takes import add_take
from s2v_tui.engine.recipes import digest
from s2v_tui.engine.takes import drop_asset
from s2v_tui.media.audio import AudioSegment, load_audio, normalise_voice
from s2v_tui.media.loudness import measure_file
from s2v_tui.media.probe import MediaInfo, verify_audio, verify_image, verify_video
from s2v_tui.storage.atomic import sha256_file
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.takes import find_shot

MAX_IMAGE_SIDE, MIN_IMAGE_SIDE, MAX_IMAGE_PIXELS = 8192, 64, 50_000_000
MAX_CLIP_SECONDS, MIN_SECONDS = 600.0, 0.2
MAX_VOICE_SECONDS = 120.0
"""A shot lasts at most two minutes (`Shot.duration`); a longer recording is not one shot's narration."""
MAX_BYTES = {Stage.KEYFRAME: 200_000_000, Stage.CLIP: 4_000_000_000, Stage.VOICE: 1_000_000_000}
CLIP_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
              ".webm": "video/webm"}
HINTS = {
    Stage.KEYFRAME: "use a PNG, JPEG or WebP picture between 64 and 8192 pixels a side",
    Stage.CLIP: f"use an MP4, MOV, MKV or WebM video ffmpeg can decode, at most {MAX_CLIP_SECONDS:.0f} s long",
    Stage.VOICE: f"use a WAV, MP3, M4A, OGG or FLAC recording of the narration, at most {MAX_VOICE_SECONDS:.0f} s",
}


PICTURE_TYPES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VOICE_TYPES = (".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac")


def stage_for_file(path: Path) -> Stage:
    """Which stage a file is for, by its type: a picture is a keyframe, a video a clip, a recording a voice."""
    ext = Path(path).suffix.lower()
    for stage, types in ((Stage.KEYFRAME, PICTURE_TYPES), (Stage.CLIP, tuple(CLIP_TYPES)), (Stage.VOICE, VOICE_TYPES)):
        if ext in types:
            return stage
    raise BadInputError(f"{Path(path).name}: s2v cannot tell a picture, video or recording from {ext or 'no extension'}",
                        hint="a keyframe is .png/.jpg/.webp, a clip .mp4/.mov/.mkv/.webm, a voice .wav/.mp3/.m4a/.ogg/.flac")


@dataclass(frozen=True)
class Prepared:
    """The file to place, and what the asset records about it."""

    file: Path
    ext: str
    media_type: str
    meta: dict[str, object]


def _refuse(stage: Stage, source: Path, why: str) -> BadInputError:
    return BadInputError(f"{source.name} cannot be a {stage.value}: {why}", hint=HINTS[stage])


def _undecodable(error: MediaError, what: str) -> str:
    """The checker's finding, without the decoder's internals when the file is not media at all."""
    if error.message.startswith("cannot read media"):
        return f"it is not {what} s2v can decode"
    return error.message


def _check_source(stage: Stage, source: Path) -> None:
    if not source.is_file():
        raise BadInputError(f"{source} not found" if not source.exists() else f"{source} is not a file",
                            hint=f"pass the {stage.value} file to import")
    size = source.stat().st_size
    if size > MAX_BYTES[stage]:
        raise _refuse(stage, source, f"it is {size // 1_000_000} MB (at most {MAX_BYTES[stage] // 1_000_000} MB)")


def check_picture(source: Path) -> tuple[int, int]:
    """Decode the picture (its header first, so a decompression bomb is refused unread)."""
    try:
        with Image.open(source) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise _refuse(Stage.KEYFRAME, source, f"it is not a readable picture ({exc})") from None
    if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
        raise _refuse(Stage.KEYFRAME, source, f"it is {width}x{height} pixels")
    if min(width, height) < MIN_IMAGE_SIDE:
        raise _refuse(Stage.KEYFRAME, source, f"it is only {width}x{height} pixels")
    try:
        return verify_image(source)
    except MediaError as exc:
        raise _refuse(Stage.KEYFRAME, source, exc.message) from None


def check_clip(source: Path) -> MediaInfo:
    ext = source.suffix.lower()
    if ext not in CLIP_TYPES:
        raise _refuse(Stage.CLIP, source, f"{ext or 'no extension'} is not a video type s2v takes")
    try:
        media = verify_video(source, min_duration=MIN_SECONDS)
    except MediaError as exc:
        raise _refuse(Stage.CLIP, source, _undecodable(exc, "a video")) from None
    video = media.video[0]
    if media.duration > MAX_CLIP_SECONDS:
        raise _refuse(Stage.CLIP, source, f"it lasts {media.duration:.0f} s")
    if min(video.width, video.height) < 16 or max(video.width, video.height) > MAX_IMAGE_SIDE:
        raise _refuse(Stage.CLIP, source, f"it is {video.width}x{video.height} pixels")
    return media


def check_voice(source: Path) -> AudioSegment:
    """The decoded recording."""
    try:
        verify_audio(source, min_duration=MIN_SECONDS)
        audio = load_audio(source)
    except MediaError as exc:
        raise _refuse(Stage.VOICE, source, _undecodable(exc, "a recording")) from None
    if len(audio) / 1000 > MAX_VOICE_SECONDS:
        raise _refuse(Stage.VOICE, source, f"it lasts {len(audio) / 1000:.0f} s")
    return audio


CHECKS = {Stage.KEYFRAME: check_picture, Stage.CLIP: check_clip, Stage.VOICE: check_voice}


def _picture(source: Path, workdir: Path) -> Prepared:
    with Image.open(source) as image:
        kind, mode = image.format, image.mode
        turned = image.getexif().get(0x0112, 1) not in (0, 1)  # EXIF orientation: a phone photo held sideways
        if kind in ("PNG", "JPEG") and mode in ("RGB", "RGBA", "L") and not turned:
            ext = ".png" if kind == "PNG" else ".jpg"
            out = workdir / f"keyframe{ext}"
            shutil.copyfile(source, out)
            return Prepared(out, ext, "image/png" if kind == "PNG" else "image/jpeg",
                            {"width": image.width, "height": image.height})
        upright = ImageOps.exif_transpose(image)
        upright = upright.convert("RGBA" if "A" in upright.mode or "transparency" in upright.info else "RGB")
        out = workdir / "keyframe.png"
        upright.save(out, format="PNG")
        return Prepared(out, ".png", "image/png", {"width": upright.width, "height": upright.height})


def _clip(source: Path, workdir: Path, media: MediaInfo) -> Prepared:
    ext = source.suffix.lower()
    out = workdir / f"clip{ext}"
    shutil.copyfile(source, out)
    video = media.video[0]
    return Prepared(out, ext, CLIP_TYPES[ext], {"kind": "video", "duration": round(media.duration, 4),
                                                "width": video.width, "height": video.height})


async def _voice(audio: AudioSegment, workdir: Path, sample_rate: int) -> Prepared:
    out = workdir / "voice.wav"
    duration = await asyncio.to_thread(normalise_voice, audio, out, sample_rate=sample_rate)
    return Prepared(out, ".wav", "audio/wav", {"duration": round(duration, 4), "lufs": await measure_file(out),
                                               "timings": []})


async def import_file(folder: ProjectFolder, project: Project, shot_id: str, stage: Stage, source: Path, *,
                      sample_rate: int, keep: int) -> Take:
    """Bring `source` in as `shot_id`'s chosen `stage` take and save the project (see the module docstring).

    Raises:
        BadInputError: unknown shot, or a file that cannot be used (nothing is written then).
    """
    shot = find_shot(project, shot_id)
    source = Path(source).expanduser()
    _check_source(stage, source)
    checked = await asyncio.to_thread(CHECKS[stage], source)  # read-only: a refused file writes nothing
    workdir = folder.scratch_dir(f"{shot.id}-import-{uuid.uuid4().hex[:8]}")
    try:
        if stage == Stage.KEYFRAME:
            prepared = await asyncio.to_thread(_picture, source, workdir)
        elif stage == Stage.CLIP:
            prepared = await asyncio.to_thread(_clip, source, workdir, checked)
        else:
            prepared = await _voice(checked, workdir, sample_rate)
        sha = sha256_file(prepared.file)
        input_hash = digest({"stage": stage.value, "backend": USER_BACKEND, "sha256": sha})
        relative = folder.asset_relpath(shot.id, stage.value, input_hash, prepared.ext)
        asset = Asset(path=relative, sha256=sha, media_type=prepared.media_type, backend=USER_BACKEND,
                      params={"file": source.name[:200]}, input_hash=input_hash, meta=prepared.meta)
        await asyncio.to_thread(folder.records.commit, shot.id, stage.value, asset, [(prepared.file, relative)])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    state = shot.stages[stage]
    pruned = add_take(state, asset, source.name[:200], keep=keep)
    state.pin = Pin(key=None)
    state.status, state.error = StageStatus.DONE, None
    folder.save(project)
    for gone in pruned:  # only once project.json no longer names them
        drop_asset(folder, project, shot.id, stage.value, gone.asset)
    return next(t for t in state.takes if t.asset.path == asset.path)
