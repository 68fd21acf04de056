"""Takes: every keyframe, voice and clip a shot has had, and which one is used.

A stage that makes something new keeps what it replaces as a take (content-addressed files stay on
disk), so going back costs nothing. `StageState.asset` is always the chosen take. The engine chooses
the take its inputs make; the user may choose another (`s2v take`, the studio) or bring a file
(`s2v import`), which pins it (`Pin`). Beyond a cap, the oldest takes that are not chosen are pruned.
Pure data operations: the engine and the workspace layer decide when files are deleted.
"""

from __future__ import annotations

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.shot import MAX_TAKE_PROMPT, USER_BACKEND, Asset, Pin, Shot, Stage, StageState, StageStatus, Take

TAKE_STAGES = (Stage.KEYFRAME, Stage.VOICE, Stage.CLIP)
"""Stages whose results are kept as takes (a segment is derived: it is rebuilt, through the cache)."""


def keeps_takes(stage: str) -> bool:
    return stage in {s.value for s in TAKE_STAGES}


def take_stage(value: str) -> Stage:
    """The stage named `value` if it keeps takes; BadInputError naming the ones that do."""
    names = ", ".join(s.value for s in TAKE_STAGES)
    if not keeps_takes(value):
        raise BadInputError(f"{value!r} has no takes", hint=f"takes are kept for: {names}")
    return Stage(value)


def take_holding(state: StageState, asset: Asset | None) -> Take | None:
    """The take whose file is `asset`'s (None if it is not one of the stage's takes)."""
    if asset is None:
        return None
    return next((take for take in state.takes if take.asset.path == asset.path), None)


def chosen_take(state: StageState) -> Take | None:
    return take_holding(state, state.asset)


def prune(state: StageState, keep: int) -> list[Take]:
    """Drop the oldest takes that are not chosen until at most `keep` remain; returns the dropped ones."""
    dropped: list[Take] = []
    chosen = state.asset.path if state.asset else None
    while len(state.takes) > keep:
        victim = next((t for t in sorted(state.takes, key=lambda t: t.number) if t.asset.path != chosen), None)
        if victim is None:
            break
        state.takes.remove(victim)
        dropped.append(victim)
    return dropped


def add_take(state: StageState, asset: Asset, prompt: str | None, *, keep: int) -> list[Take]:
    """Make `asset` the stage's asset and keep it as a take (a new number, unless a take already holds
    that very file), then prune to `keep`. Returns the pruned takes (their files are the caller's)."""
    take = take_holding(state, asset)
    if take is None:
        number = max((t.number for t in state.takes), default=0) + 1
        state.takes.append(Take(number=number, asset=asset, prompt=prompt[:MAX_TAKE_PROMPT] if prompt else None))
    else:
        take.asset = asset
    state.asset = asset
    return prune(state, keep)


def choose(shot: Shot, stage: Stage, number: int, *, key: str | None) -> Take:
    """Use take `number` for `stage` and pin it (`key`: see `Pin.key`; a user's file is pinned without one).

    Raises:
        BadInputError: the stage has no such take (the message lists the ones it has).
    """
    state = shot.stages[stage]
    take = next((t for t in state.takes if t.number == number), None)
    if take is None:
        have = ", ".join(str(t.number) for t in state.takes) or "none yet"
        raise BadInputError(f"{shot.id} has no {stage.value} take {number} (takes: {have})",
                            hint=f"list them with `s2v take DIR {shot.id} {stage.value} --list`")
    state.asset = take.asset
    state.pin = Pin(key=None if take.asset.backend == USER_BACKEND else key)
    state.status, state.error = StageStatus.DONE, None
    return take


def pin_holds(state: StageState, key: str | None) -> bool:
    """The user's choice still applies: a user's file always, a generated take while `key` is unchanged."""
    pin = state.pin
    return pin is not None and state.asset is not None and (pin.key is None or pin.key == key)


def regenerate(shot: Shot, stage: Stage) -> None:
    """Make the next build of `stage` produce something new: a new seed, and no pinned choice."""
    shot.variants = {**shot.variants, stage: shot.variants.get(stage, 0) + 1}
    shot.stages[stage].pin = None
