"""Turning the script into shots, and merging a regenerated storyboard with locked shots."""

from __future__ import annotations

import time

from s2v_tui.backends.base import ShotDraft, StoryboardBackend, StoryboardRequest
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.events import StageFinished, StageStarted, StoryboardReady
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot, StageStatus
from s2v_tui.domain.text import NO_WORDS_HINT, has_words
from s2v_tui.engine.context import RunContext, StageContextImpl
from s2v_tui.engine.retry import with_retries

MAX_SCRIPT_CHARS = 20_000


def storyboard_request(project: Project) -> StoryboardRequest:
    script = project.script.strip()
    if not script:
        raise BadInputError("the project has no script", hint="write the story in the script editor or pass a story file")
    if len(script) > MAX_SCRIPT_CHARS:
        raise BadInputError(f"the script is {len(script)} characters; the limit is {MAX_SCRIPT_CHARS}",
                            hint="split it into several projects (one per chapter)")
    if "\x00" in script:
        raise BadInputError("the script contains NUL bytes (is it a binary file?)", hint="pass a UTF-8 text file")
    if not has_words(script):
        raise BadInputError("the script has no words to narrate", hint=NO_WORDS_HINT)
    return StoryboardRequest(script=script, style=project.style, language=project.language)


def apply_drafts(project: Project, drafts: list[ShotDraft]) -> None:
    """Replace the unlocked shots with `drafts`, keeping locked shots where they were.

    Unlocked slots are refilled in order and keep their ids (content-addressed assets that still match
    are reused); surplus drafts get new ids at the end, surplus unlocked slots are dropped.
    """
    queue = list(drafts)
    merged: list[Shot] = []
    for shot in project.shots:
        if shot.locked:
            merged.append(shot)
        elif queue:
            draft = queue.pop(0)
            # A new shot in an old slot: its takes stay (to reuse what still matches), no choice holds.
            stages = {stage: state.model_copy(update={"pin": None}) for stage, state in shot.stages.items()}
            merged.append(shot.model_copy(update={**draft.model_dump(), "image_prompt": None, "duration": None,
                                                  "stages": stages}))
    taken = {shot.id for shot in merged}
    number = 1
    for draft in queue:
        while f"shot_{number:02d}" in taken:
            number += 1
        taken.add(f"shot_{number:02d}")
        merged.append(Shot(id=f"shot_{number:02d}", sequence=len(merged) + 1, **draft.model_dump()))
    project.shots = merged
    project.renumber()
    # model_copy skips validation; re-validate so every field is checked once more.
    project.shots = [Shot.model_validate(shot.model_dump()) for shot in project.shots]


async def generate(run: RunContext, backend: StoryboardBackend) -> int:
    """Run the storyboard backend and store its shots; returns the number of shots."""
    project = run.project
    request = storyboard_request(project)
    state = project.storyboard
    run.emit(StageStarted(shot_id=None, stage="storyboard", backend=backend.info.name))
    state.status, state.error = StageStatus.RUNNING, None
    started = time.monotonic()
    ctx = StageContextImpl(run, None, "storyboard", state, "", run.folder.assets_dir)
    async with run.lanes(backend.info.lane):
        drafts = await with_retries(lambda: backend.storyboard(request, ctx), run.settings.retry)
    spoken = [draft for draft in drafts if has_words(draft.narration)]
    if len(spoken) < len(drafts):
        run.log(f"storyboard: dropped {len(drafts) - len(spoken)} shot(s) whose narration has no words", "warning")
    drafts = spoken
    if not drafts:
        raise BadInputError("the storyboard came back empty (no shot has words to narrate)",
                            hint="check the script, or try another storyboard backend")
    apply_drafts(project, drafts)
    state.status = StageStatus.DONE
    await run.save()
    run.emit(StageFinished(shot_id=None, stage="storyboard", seconds=round(time.monotonic() - started, 3)))
    run.emit(StoryboardReady(shots=len(project.shots), backend=backend.info.name))
    return len(project.shots)
