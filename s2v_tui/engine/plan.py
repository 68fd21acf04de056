"""What a run would do, computed without doing it: per shot and stage, fresh / stale / missing.

Front ends show it (the TUI's "stale" markers, the render pane's "cached vs rebuilt"), `RunStarted`
carries its counts, and its paid-call estimate is printed before a cloud run spends anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset, Shot, Stage, StageState, StageStatus
from s2v_tui.engine import recipes
from s2v_tui.engine.takes import choice_key, intact, usable
from s2v_tui.media.fonts import cjk_font
from s2v_tui.storage.atomic import sha256_file
from s2v_tui.storage.project_store import ProjectFolder

Freshness = Literal["fresh", "stale", "missing", "failed"]


def asset_valid(folder: ProjectFolder, asset: Asset | None, input_hash: str | None) -> bool:
    """The asset was made from exactly these inputs and its file(s) are intact."""
    return asset is not None and input_hash is not None and asset.input_hash == input_hash and intact(folder, asset)


@dataclass
class Plan:
    shots: dict[str, dict[str, Freshness]] = field(default_factory=dict)
    final: Freshness = "missing"
    to_build: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    paid_calls: dict[str, int] = field(default_factory=dict)


def _current(folder: ProjectFolder, shot: Shot, stage: Stage, input_hash: str | None,
             key: str | None = None) -> Asset | None:
    """The asset a run would use without building (`engine.takes.usable`), or one an interrupted run left
    complete on disk (the run adopts it, so it is neither built nor paid for)."""
    found = usable(folder, shot.stages[stage], input_hash, key)
    if found is None and input_hash is not None:
        found = folder.records.adoptable(shot.id, stage.value, input_hash, folder.asset_ok)
    return found


def _freshness(state: StageState, usable_asset: Asset | None) -> Freshness:
    if usable_asset is not None:
        return "fresh"
    if state.status == StageStatus.FAILED:
        return "failed"
    return "stale" if state.asset is not None else "missing"


def music_file(project: Project, folder: ProjectFolder) -> Path | None:
    """The background music file inside the project folder; BadInputError if it is missing or outside
    (a shared project must not make s2v read `/proc/self/environ` as "music")."""
    if not project.music.path:
        return None
    try:
        path = folder.resolve(project.music.path)
    except BadInputError:
        raise BadInputError(f"background music {project.music.path!r} is outside the project folder",
                            hint=f"copy it in with `s2v --run {folder.path} --music FILE`, or remove music.path "
                                 "from project.json") from None
    if not path.is_file():
        raise BadInputError(f"background music {project.music.path} not found in the project",
                            hint=f"add it again with `s2v --run {folder.path} --music FILE`, or remove music.path")
    return path


def make_plan(project: Project, folder: ProjectFolder, settings: Settings, backends: BackendSet) -> Plan:
    plan = Plan()
    build: Counter[str] = Counter()
    cached: Counter[str] = Counter()
    paid: Counter[str] = Counter()
    enc = recipes.encode_settings(project, settings.render)
    segments: list[Asset] = []
    for shot in project.shots:
        states = shot.stages
        kf = _current(folder, shot, Stage.KEYFRAME, recipes.keyframe_hash(project, shot, backends.keyframe.info),
                      choice_key(project, shot, Stage.KEYFRAME))
        vo = _current(folder, shot, Stage.VOICE, recipes.voice_hash(
            project, shot, backends.voice.info, project.voice.name, settings.render.sample_rate),
            choice_key(project, shot, Stage.VOICE))
        cl = seg = None
        if kf and vo:
            seconds = recipes.shot_seconds(shot, float(vo.meta.get("duration", 0)), settings.render)
            clip_hash = recipes.clip_hash(project, shot, backends.clip.info, kf, backends.clip.duration_for(seconds))
            cl = _current(folder, shot, Stage.CLIP, clip_hash, choice_key(project, shot, Stage.CLIP, kf))
            if cl:
                seg_hash = recipes.segment_hash(project, shot, kf, cl, vo, enc.frames_for(seconds), enc,
                                                cjk_font().family, settings.render.loudness_lufs)
                seg = _current(folder, shot, Stage.SEGMENT, seg_hash)
        row: dict[str, Freshness] = {
            stage.value: _freshness(states[stage], found)
            for stage, found in ((Stage.KEYFRAME, kf), (Stage.VOICE, vo), (Stage.CLIP, cl), (Stage.SEGMENT, seg))}
        for stage, fresh in row.items():
            if fresh == "fresh":
                cached[stage] += 1
            else:
                build[stage] += 1
                provider = getattr(backends, stage).info.paid_provider if stage != "segment" else None
                if provider:
                    paid[provider] += 1
        if seg is not None:
            segments.append(seg)
        plan.shots[shot.id] = row
    if project.shots and len(segments) == len(project.shots):
        try:
            music = music_file(project, folder)
        except BadInputError:
            music = None
        music_sha = sha256_file(music) if music else None
        final_hash = recipes.final_hash(project, segments, music_sha, settings.render)
        adoptable = folder.records.adoptable("film", "final", final_hash, folder.asset_ok)
        fresh = asset_valid(folder, project.render.state.asset, final_hash) or adoptable is not None
        plan.final = "fresh" if fresh else "stale"
    elif project.render.state.asset is not None:
        plan.final = "stale"
    build["final"] += plan.final != "fresh"
    cached["final"] += plan.final == "fresh"
    plan.to_build, plan.cached, plan.paid_calls = dict(build), dict(cached), dict(paid)
    return plan
