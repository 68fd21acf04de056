"""The rendered film as an editor's timeline: each shot's place and length in frames, its picture and
narration, the film's subtitle cues and its music — read from what project.json records.

Hand-off formats (the Jianying/CapCut draft, EDL) are written from this one description, so they agree
with `final.mp4` and `final.srt` by construction: the same segments, the same frame counts, the same
cues (`engine.final_stage.film_cues`). It is refused unless the film is rendered and current.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s2v_tui.config import RenderSettings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset, Stage
from s2v_tui.engine import recipes
from s2v_tui.engine.final_stage import film_cues
from s2v_tui.engine.plan import music_file
from s2v_tui.engine.takes import intact
from s2v_tui.media.fonts import cjk_font
from s2v_tui.media.subtitles import Cue
from s2v_tui.storage.atomic import sha256_file
from s2v_tui.storage.project_store import ProjectFolder


@dataclass(frozen=True)
class ShotSpan:
    shot_id: str
    start_frame: int
    frames: int
    keyframe: Asset
    clip: Asset
    segment: Asset
    voice_seconds: float
    """How long the narration speaks (the rest of the shot is its tail)."""

    @property
    def narration_wav(self) -> str:
        """The shot's narration as the film mixes it: loudness-normalised, exactly the shot's length."""
        return str(self.segment.meta["wav"])


@dataclass(frozen=True)
class Timeline:
    title: str
    width: int
    height: int
    fps: int
    shots: list[ShotSpan]
    cues: list[Cue]
    """The film's subtitles, exactly as final.srt has them."""
    music: Path | None
    music_volume_db: float
    ducking: bool

    @property
    def frames(self) -> int:
        return sum(span.frames for span in self.shots)

    def seconds(self, frame: int) -> float:
        return frame / self.fps


def rendered_timeline(folder: ProjectFolder, project: Project, render: RenderSettings) -> Timeline:
    """The timeline of the film as rendered.

    Raises:
        BadInputError: the project has no film yet, or shots changed since it was rendered, or a file of
            it is missing — render it first (`s2v --run DIR`).
    """
    again = f"render it first (R in the studio; headless: s2v --run {folder.path})"
    final = project.render.state.asset
    if final is None or not project.shots:
        raise BadInputError(f"{project.title!r} has no rendered film yet", hint=again)
    enc, font = recipes.encode_settings(project, render), cjk_font().family
    segments: list[Asset] = []
    spans: list[ShotSpan] = []
    start = 0
    for shot in project.shots:
        states = shot.stages
        keyframe, clip, voice, segment = (states[s].asset for s in (Stage.KEYFRAME, Stage.CLIP, Stage.VOICE,
                                                                   Stage.SEGMENT))
        if keyframe is None or clip is None or voice is None or segment is None or not intact(folder, segment):
            raise BadInputError(f"{shot.id} has no rendered segment", hint=again)
        frames = int(segment.meta["frames"])
        made_from = recipes.segment_hash(project, shot, keyframe, clip, voice, frames, enc, font, render.loudness_lufs)
        if segment.input_hash != made_from:
            raise BadInputError(f"the film is out of date: {shot.id} changed since it was rendered", hint=again)
        segments.append(segment)
        spans.append(ShotSpan(shot.id, start, frames, keyframe, clip, segment, float(voice.meta.get("duration", 0))))
        start += frames
    music = music_file(project, folder)
    music_sha = sha256_file(music) if music else None
    if recipes.final_hash(project, segments, music_sha, render) != final.input_hash or not intact(folder, final):
        raise BadInputError("the film is out of date: shots or music changed since it was rendered", hint=again)
    return Timeline(title=project.title, width=project.format.width, height=project.format.height,
                    fps=project.format.fps, shots=spans, cues=film_cues(segments), music=music,
                    music_volume_db=project.music.volume_db, ducking=project.music.ducking)
