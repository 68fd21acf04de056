"""Tidying how prompts are built (no `.,`, no `。，`) must not make anyone pay again for a paid keyframe
or clip they already have; an edited shot uses the new wording."""

from __future__ import annotations

from s2v_tui.backends.base import BackendInfo
from s2v_tui.domain.shot import Asset, Shot, Stage
from s2v_tui.engine import recipes
from tests.conftest import new_project

PAID = BackendInfo(name="dashscope", model="qwen-image-plus", lane="dashscope-image", paid_provider="dashscope")
FREE = BackendInfo(name="offline", model="painter", lane="cpu")


def _shot() -> Shot:
    return Shot(id="shot_01", sequence=1, subject="老人", detail="水彩插画，海边的小镇下起了雪。", narration="下雪了。")


def _asset(input_hash: str) -> Asset:
    return Asset(path="assets/shot_01/keyframe-x.png", sha256="0" * 64, media_type="image/png", backend="dashscope",
                 input_hash=input_hash)


def test_a_paid_keyframe_made_from_the_old_wording_keeps_its_cache_key() -> None:
    project, shot = new_project(), _shot()
    legacy = recipes._legacy_image_prompt(project, shot)
    assert legacy.endswith("。，老人") and recipes.image_prompt(project, shot) != legacy  # the wording did change
    shot.stages[Stage.KEYFRAME].asset = _asset(recipes._keyframe_digest(project, shot, PAID, legacy))
    assert recipes.keyframe_prompt(project, shot, PAID) == legacy
    assert recipes.keyframe_hash(project, shot, PAID) == shot.stages[Stage.KEYFRAME].asset.input_hash
    shot.detail += "远处有灯。"  # an edit: today's wording, a new (paid) keyframe
    assert recipes.keyframe_prompt(project, shot, PAID) == recipes.image_prompt(project, shot)


def test_free_keyframes_and_new_shots_use_the_new_wording() -> None:
    project, shot = new_project(), _shot()
    shot.stages[Stage.KEYFRAME].asset = _asset(recipes._keyframe_digest(project, shot, FREE,
                                                                        recipes._legacy_image_prompt(project, shot)))
    assert recipes.keyframe_prompt(project, shot, FREE) == recipes.image_prompt(project, shot)  # free: just rebuild
    assert recipes.keyframe_prompt(project, _shot(), PAID) == recipes.image_prompt(project, _shot())


def test_a_paid_clip_made_from_the_old_wording_keeps_its_cache_key() -> None:
    project, shot = new_project(language="en"), Shot(id="shot_01", sequence=1, detail="Snow falls on the town.")
    keyframe = _asset("k")
    legacy = recipes._legacy_motion_prompt(project, shot)
    assert ".." in legacy
    clip = _asset(recipes._clip_digest(project, shot, PAID, keyframe, 5.0, legacy))
    shot.stages[Stage.CLIP].asset = clip
    assert recipes.clip_hash(project, shot, PAID, keyframe, 5.0) == clip.input_hash
