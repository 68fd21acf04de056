"""What each artifact is made from: prompts, seeds, durations and the input hash of every stage.

The content-addressed cache rests on these functions. An artifact is reused only if the hash of
everything it was made from — text, settings, backend name/model/params, seed, upstream asset
hashes, and the stage's recipe version — is unchanged. Editing a shot's `detail` therefore changes
its keyframe hash, which changes its clip and segment hashes (they include upstream sha256s), and
the final hash; its voice and every other shot keep theirs. Bump a `RECIPE` number when the code
that makes a stage's output changes in a way users should see.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from s2v_tui.backends.base import BackendInfo
from s2v_tui.config import RenderSettings
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset, Shot, Stage
from s2v_tui.media.segment import EncodeSettings, x264_threads

RECIPE = {"keyframe": 1, "voice": 1, "clip": 1, "segment": 3, "audio": 1, "final": 1}
"""segment 2: offline subtitles drawn once per cue into the frames (no libass), the cores shared out as x264 threads.
segment 3: Ken-Burns frames from phase-shifted copies (`media.subpixel`); colour tags set on the frames, so
the primaries and transfer actually reach the file (they were dropped before)."""

NEGATIVE_PROMPT = "blurry, low quality, distorted, watermark, text artifacts"


def digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _backend(info: BackendInfo) -> dict[str, Any]:
    return {"name": info.name, "model": info.model, "params": info.params}


def shot_number(shot: Shot) -> int:
    """The stable number in a shot id ("shot_07" → 7); used where reordering must not rebuild."""
    digits = "".join(ch for ch in shot.id if ch.isdigit())
    return int(digits) if digits else shot.sequence


def seed_for(project: Project, shot: Shot, stage: Stage) -> int:
    base = f"{project.id}:{shot.id}:{stage.value}:{shot.variants.get(stage, 0)}"
    return int(hashlib.sha256(base.encode()).hexdigest()[:8], 16) % (2**31 - 1)


_SENTENCE_END = ("。", "！", "？", "…", ".", "!", "?", "”", '"')


def _join_phrases(parts: list[str], language: str) -> str:
    """Phrases joined by a comma, or by a space when the previous one already ends a sentence (no `.,`)."""
    sep, after_sentence = ("，", "") if language == "zh" else (", ", " ")
    text = ""
    for part in (p.strip().rstrip("，,、；;：:") for p in parts):
        if part:
            text += (after_sentence if text.endswith(_SENTENCE_END) else sep) + part if text else part
    return text


def _contains(text: str, phrase: str) -> bool:
    return phrase.strip().lower() in text.lower()


def image_prompt(project: Project, shot: Shot) -> str:
    """The text-to-image prompt: the shot's override, else style + detail (+ subject if missing)."""
    if shot.image_prompt and shot.image_prompt.strip():
        return shot.image_prompt.strip()
    parts = []
    if project.style and not _contains(shot.detail, project.style):
        parts.append(project.style)
    parts.append(shot.detail.strip() or shot.subject.strip() or shot.narration.strip())
    if shot.subject and not _contains(shot.detail, shot.subject):
        parts.append(shot.subject)
    return _join_phrases(parts, project.language)


def _legacy_image_prompt(project: Project, shot: Shot) -> str:
    """The image prompt as s2v 0.1 built it (before phrases were joined without `.,`)."""
    if shot.image_prompt and shot.image_prompt.strip():
        return shot.image_prompt.strip()
    sep = "，" if project.language == "zh" else ", "
    parts = [project.style] if project.style and project.style not in shot.detail else []
    parts.append(shot.detail.strip() or shot.subject.strip() or shot.narration.strip())
    if shot.subject and shot.subject not in shot.detail:
        parts.append(shot.subject)
    return sep.join(p for p in parts if p)


def _legacy_motion_prompt(project: Project, shot: Shot) -> str:
    if project.language == "zh":
        return f"{shot.detail.strip() or shot.subject}。镜头运动：{shot.camera.value}。"
    return f"{shot.detail.strip() or shot.subject}. Camera: {shot.camera.english}."


def _kept_paid_prompt(info: BackendInfo, kept: Asset | None, prompt: str, legacy: str,
                      digest_with: Any) -> str:
    """`prompt`, unless a paid asset this shot already has was made from the legacy wording of the same
    inputs: then the legacy wording, so tidying how prompts are built never makes anyone pay again for
    a keyframe or clip they have (a new edit of the shot uses today's wording)."""
    if info.paid_provider and kept is not None and legacy != prompt and kept.input_hash == digest_with(legacy):
        return legacy
    return prompt


def keyframe_prompt(project: Project, shot: Shot, info: BackendInfo) -> str:
    """The image prompt sent for this shot (see `_kept_paid_prompt`)."""
    return _kept_paid_prompt(info, shot.stages[Stage.KEYFRAME].asset, image_prompt(project, shot),
                             _legacy_image_prompt(project, shot), lambda p: _keyframe_digest(project, shot, info, p))


def clip_prompt(project: Project, shot: Shot, info: BackendInfo, keyframe: Asset, seconds: float) -> str:
    """The motion prompt sent for this shot (see `_kept_paid_prompt`)."""
    return _kept_paid_prompt(info, shot.stages[Stage.CLIP].asset, motion_prompt(project, shot),
                             _legacy_motion_prompt(project, shot),
                             lambda p: _clip_digest(project, shot, info, keyframe, seconds, p))


def motion_prompt(project: Project, shot: Shot) -> str:
    """The image-to-video prompt: the visual description plus the camera move."""
    visual = (shot.detail.strip() or shot.subject).rstrip("。.，,；;：: ")
    if project.language == "zh":
        return f"{visual}。镜头运动：{shot.camera.value}。"
    return f"{visual}. Camera: {shot.camera.english}."


def shot_seconds(shot: Shot, voice_seconds: float, render: RenderSettings) -> float:
    """How long the shot lasts: narration plus a tail, at least the minimum or the user's duration."""
    return max(voice_seconds + render.tail_seconds, render.min_shot_seconds, shot.duration or 0.0)


def encode_settings(project: Project, render: RenderSettings) -> EncodeSettings:
    return EncodeSettings(width=project.format.width, height=project.format.height, fps=project.format.fps,
                          preset=render.preset, crf=render.crf, threads=x264_threads(render.workers),
                          sample_rate=render.sample_rate)


def keyframe_hash(project: Project, shot: Shot, info: BackendInfo) -> str:
    return _keyframe_digest(project, shot, info, keyframe_prompt(project, shot, info))


def _keyframe_digest(project: Project, shot: Shot, info: BackendInfo, prompt: str) -> str:
    return digest({
        "stage": "keyframe", "recipe": RECIPE["keyframe"], "backend": _backend(info),
        "prompt": prompt, "negative": NEGATIVE_PROMPT,
        "size": [project.format.width, project.format.height], "seed": seed_for(project, shot, Stage.KEYFRAME),
        "style": project.style, "subject": shot.subject, "number": shot_number(shot),
    })


def voice_hash(project: Project, shot: Shot, info: BackendInfo, voice_name: str | None, sample_rate: int) -> str:
    return digest({
        "stage": "voice", "recipe": RECIPE["voice"], "backend": _backend(info), "text": shot.narration,
        "language": project.language, "voice": voice_name, "rate": project.voice.rate, "tone": shot.tone,
        "sample_rate": sample_rate, "variant": shot.variants.get(Stage.VOICE, 0),
    })


def clip_hash(project: Project, shot: Shot, info: BackendInfo, keyframe: Asset, seconds: float) -> str:
    return _clip_digest(project, shot, info, keyframe, seconds, clip_prompt(project, shot, info, keyframe, seconds))


def _clip_digest(project: Project, shot: Shot, info: BackendInfo, keyframe: Asset, seconds: float,
                 prompt: str) -> str:
    return digest({
        "stage": "clip", "recipe": RECIPE["clip"], "backend": _backend(info), "keyframe": keyframe.sha256,
        "prompt": prompt, "camera": shot.camera.value, "seconds": round(seconds, 3),
        "size": [project.format.width, project.format.height], "fps": project.format.fps,
        "seed": seed_for(project, shot, Stage.CLIP),
    })


def segment_hash(project: Project, shot: Shot, keyframe: Asset, clip: Asset, voice: Asset, frames: int,
                 enc: EncodeSettings, font: str, loudness: float) -> str:
    return digest({
        "stage": "segment", "recipe": RECIPE["segment"], "keyframe": keyframe.sha256, "clip": clip.sha256,
        "voice": voice.sha256, "text": shot.narration, "subtitles": project.subtitles.model_dump(),
        "frames": frames, "encode": enc.fingerprint(), "font": font, "loudness": loudness,
    })


def final_hash(project: Project, segments: list[Asset], music_sha: str | None, render: RenderSettings) -> str:
    return digest({
        "stage": "final", "recipe": RECIPE["final"], "segments": [s.sha256 for s in segments],
        "music": [music_sha, project.music.volume_db, project.music.ducking] if music_sha else None,
        "loudness": render.loudness_lufs, "sample_rate": render.sample_rate,
    })


def film_audio_hash(project: Project, segments: list[Asset], music_sha: str | None, render: RenderSettings) -> str:
    """The sound track depends on the narration WAVs only: a new picture leaves it cached."""
    return digest({
        "stage": "audio", "recipe": RECIPE["audio"], "wavs": [s.meta.get("wav_sha256") for s in segments],
        "music": [music_sha, project.music.volume_db, project.music.ducking] if music_sha else None,
        "loudness": render.loudness_lufs, "sample_rate": render.sample_rate,
    })
