"""A Jianying (剪映) / CapCut draft of the rendered film, written with pyJianYingDraft.

Tracks: 画面 (one clean picture per shot: no burned subtitles, exactly the shot's frames), 旁白 (each
shot's narration, as loudness-normalised as in the film), 音乐 (the background music, looped over the
film at the project's volume, and — when ducking is on — lowered under each narration by volume
keyframes, as the film's side-chain compressor does), 字幕 (a text segment per cue of final.srt).
Canvas size and frame rate are the project's.

pyJianYingDraft 0.3.1 (Apache-2.0) writes the draft JSON; its authors test its output with Jianying
5.9 and 10.8. The draft is saved as `draft_info.json`: Jianying 6 and later read that name (5.9 reads
it too and converts it, pyJianYingDraft issue #128); a plain-text `draft_content.json` dropped into a
drafts folder is reported as damaged by Jianying 11.4 (pyJianYingDraft PR #198). Media paths in the
draft are absolute: the draft folder's own path, or `media_root` when the folder will be opened
elsewhere (e.g. exported on Linux, opened by Jianying on Windows). Jianying asks to relink media it
cannot find by path; all of it is in the draft's `media/` folder.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2v_tui.workspace.timeline import Timeline

DRAFT_FILE = "draft_info.json"
META_FILE = "draft_meta_info.json"
MEDIA = "media"
DUCK_DB = -12.0
"""How far the film's compressor (ratio 8 above -34 dBFS) lowers the music under speech at -16 LUFS."""
DUCK_ATTACK, DUCK_RELEASE = 0.02, 0.4
"""Seconds, as the film's `sidechaincompress` (attack 20 ms, release 400 ms)."""


@dataclass(frozen=True)
class DraftMedia:
    """The draft's media files (in `folder/media/`), by what they are."""

    folder: Path
    """Where the files are now (the staging copy of the draft folder)."""
    pictures: list[str]
    narrations: list[str]
    music: str | None


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _fits(material: Any, duration_us: int, fps: int) -> Any:
    """Media info rounds a file's length to milliseconds; a file of exactly the shot's frames may read a
    little short, which pyJianYingDraft would refuse. Within a frame, the file is as long as its frames."""
    if duration_us - material.duration <= 1_000_000 / fps:
        material.duration = max(material.duration, duration_us)
    return material


def ducked_music_keyframes(start: float, length: float, speech: list[tuple[float, float]], volume: float,
                           ducked: float) -> list[tuple[float, float]]:
    """Volume keyframes (seconds from the segment's start, linear volume) that lower the music from
    `volume` to `ducked` over each speech interval in [start, start + length)."""
    points: list[tuple[float, float]] = []
    for begin, end in speech:
        for at, value in ((begin - DUCK_ATTACK, volume), (begin, ducked), (end, ducked), (end + DUCK_RELEASE, volume)):
            if start <= at <= start + length:
                points.append((round(at - start, 6), value))
    if any(begin <= start < end for begin, end in speech):
        points.insert(0, (0.0, ducked))
    return points


def write_draft(timeline: Timeline, media: DraftMedia, *, media_root: str, name: str) -> Path:
    """Write the draft files into `media.folder`; returns the draft JSON's path."""
    import pyJianYingDraft as jy  # imported on use: only the export needs it

    fps = timeline.fps
    script = jy.ScriptFile(timeline.width, timeline.height, fps, True)
    picture, narration = (script.append_track(jy.TrackSpec(kind, label)) for kind, label in (
        (jy.TrackType.video, "画面"), (jy.TrackType.audio, "旁白")))

    def located(material: Any, file: str) -> Any:
        material.path = f"{media_root.rstrip('/')}/{MEDIA}/{file}"  # where Jianying will find it
        return material

    for span, picture_file, voice_file in zip(timeline.shots, media.pictures, media.narrations, strict=True):
        start, end = (_us(timeline.seconds(f)) for f in (span.start_frame, span.start_frame + span.frames))
        when = jy.Timerange(start, end - start)  # from frame numbers: neighbours meet to the microsecond
        video = _fits(jy.VideoMaterial(str(media.folder / MEDIA / picture_file)), when.duration, fps)
        script.add_segment(jy.VideoSegment(located(video, picture_file), when, volume=0.0), picture)
        voice = _fits(jy.AudioMaterial(str(media.folder / MEDIA / voice_file)), when.duration, fps)
        script.add_segment(jy.AudioSegment(located(voice, voice_file), when), narration)
    if media.music:
        _music(jy, script, timeline, located(jy.AudioMaterial(str(media.folder / MEDIA / media.music)), media.music))
    style = jy.TextStyle(size=10.0 if timeline.height > timeline.width else 7.0, align=1, auto_wrapping=True,
                         max_line_width=0.88)
    border = jy.TextBorder(color=(0.0, 0.0, 0.0), width=40.0)
    placed = jy.ClipSettings(transform_y=-0.72)
    text = script.append_track(jy.TrackSpec(jy.TrackType.text, "字幕")) if timeline.cues else None
    for cue in timeline.cues:
        start = _us(cue.start)
        script.add_segment(jy.TextSegment(cue.text, jy.Timerange(start, _us(cue.end) - start), style=style,
                                          border=border, clip_settings=placed), text)
    draft = media.folder / DRAFT_FILE
    content = json.loads(script.dumps())
    content.update(id=str(uuid.uuid4()).upper(), name=name)
    draft.write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")
    _write_meta(media.folder / META_FILE, name=name, root=media_root, duration=script.duration)
    return draft


def _music(jy: Any, script: Any, timeline: Timeline, material: Any) -> None:
    track = script.append_track(jy.TrackSpec(jy.TrackType.audio, "音乐"))
    volume = 10 ** (timeline.music_volume_db / 20)
    ducked = 10 ** ((timeline.music_volume_db + DUCK_DB) / 20)
    speech = [(timeline.seconds(s.start_frame), timeline.seconds(s.start_frame) + s.voice_seconds)
              for s in timeline.shots]
    total = _us(timeline.seconds(timeline.frames))
    start = 0
    while start < total:  # looped, like the film's `stream_loop`
        length = min(material.duration, total - start)
        if not timeline.ducking:
            script.add_segment(jy.AudioSegment(material, jy.Timerange(start, length), volume=volume), track)
        else:  # the keyframes carry the level (1.0 on the segment, whether Jianying multiplies or replaces)
            segment = jy.AudioSegment(material, jy.Timerange(start, length), volume=1.0)
            points = [(0.0, volume)] + ducked_music_keyframes(start / 1e6, length / 1e6, speech, volume, ducked)
            for offset, value in dict(points).items():  # one value per instant: the later one wins
                segment.add_keyframe(_us(offset), value)
            script.add_segment(segment, track)
        start += length


def _write_meta(path: Path, *, name: str, root: str, duration: int) -> None:
    """The draft's listing entry, from pyJianYingDraft's template with this draft's own id and name."""
    from pyJianYingDraft import assets

    meta = json.loads(assets.get_asset_path("DRAFT_META_TEMPLATE").read_text(encoding="utf-8"))
    folder = root.rstrip("/")
    meta.update(draft_id=str(uuid.uuid4()).upper(), draft_name=name, draft_fold_path=folder,
                draft_root_path=folder.rsplit("/", 1)[0] if "/" in folder else folder, tm_duration=duration)
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
