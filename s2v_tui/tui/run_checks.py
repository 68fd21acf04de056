"""Before a job starts: which backend stages it will call, and what the studio says when one of them
lacks a key or an endpoint (`s2v_tui.preflight` finds it; the wording with palette commands is ours)."""

from __future__ import annotations

from collections.abc import Iterable

from s2v_tui.config import Settings
from s2v_tui.engine.plan import Plan
from s2v_tui.preflight import Missing, missing_for_run

BACKEND_STAGES = ("keyframe", "voice", "clip")
"""The shot stages that call a backend (segments and the final join are local ffmpeg work)."""
DOWNSTREAM = {"keyframe": ("clip",), "voice": (), "clip": ()}
"""A new keyframe means a new clip (made from it); a new clip changes nothing upstream."""


def stages_to_call(plan: Plan | None, *, shot_id: str | None = None, regenerate: str | None = None) -> set[str]:
    """The backend stages a render (whole project, or one shot with `regenerate`) will call.

    Without a plan yet, assume all of them: asking for a key too early beats ten failed shots.
    """
    if plan is None or (shot_id is not None and shot_id not in plan.shots):
        return set(BACKEND_STAGES)
    if shot_id is None:
        return {stage for stage in BACKEND_STAGES if plan.to_build.get(stage)}
    row = plan.shots[shot_id]
    needed = {stage for stage in BACKEND_STAGES if row.get(stage) != "fresh"}
    if regenerate is not None:
        needed |= {regenerate, *DOWNSTREAM.get(regenerate, ())}
    return needed


def switch_command(missing: Missing) -> str:
    """How to get going without the missing thing, as the palette spells it."""
    return f"ctrl+p → backend: {missing.stage} → {missing.alternative}"


def advice(missing: list[Missing]) -> tuple[str, str]:
    """(short notification text, full log text) for what a run lacks: one line per stage, fix + alternative."""
    short, full = [], []
    for item in missing:
        short.append(f"{item.stage}: {item.backend} needs {item.needs} — set it, or {switch_command(item)}")
        full.append(f"{item.message}: {item.fix}; or use another backend: {switch_command(item)}")
    return "\n".join(short), " · ".join(full)


def picked_backend_warning(settings: Settings, stages: Iterable[str]) -> str | None:
    """When a backend was just chosen for `stages`: what it lacks (say it now, not at the next render)."""
    missing = missing_for_run(settings, stages)
    return advice(missing)[0] if missing else None
