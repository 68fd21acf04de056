"""Stories addressed by `(user_id, story_id)`, as `s2v serve` names them: each one is an ordinary s2v
project at `<projects_dir>/users/<user_id>/stories/<story_id>/` — the same project.json the studio and
`s2v --run` open. Creating one from a script's text goes through the same `new_project` as every front
end; nothing here writes project.json except through `ProjectFolder`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.ids import validate_id
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import StageStatus
from s2v_tui.engine.engine import StoryboardMode
from s2v_tui.storage.project_store import ProjectFolder, ProjectStore
from s2v_tui.storage.safety import inside
from s2v_tui.workspace.opening import RunOptions, new_project, refuse_missing_backends
from s2v_tui.workspace.stories import check_story_text

USERS = "users"


class NotFoundError(BadInputError):
    """No such story (for this user) or no such shot in it."""

    code = "not_found"


def users_root(settings: Settings) -> Path:
    return Path(settings.projects_dir).expanduser().resolve() / USERS


def story_folder(settings: Settings, user_id: str, story_id: str) -> ProjectFolder:
    """The project folder of a story; ids are validated and the path refuses links on the way."""
    validate_id(user_id, what="user_id")
    validate_id(story_id, what="story_id")
    root = Path(settings.projects_dir).expanduser().resolve()
    return ProjectFolder(inside(root, f"{USERS}/{user_id}/stories/{story_id}"))


def load_story(settings: Settings, user_id: str, story_id: str) -> tuple[ProjectFolder, Project]:
    """Read a story without locking it (reads never block a running operation)."""
    folder = story_folder(settings, user_id, story_id)
    if not folder.exists():
        raise NotFoundError(f"story {story_id!r} of user {user_id!r} not found",
                            hint="create it first with POST /api/v1/storyboard/create")
    return folder, folder.load()


def open_story(settings: Settings, user_id: str, story_id: str) -> tuple[ProjectFolder, Project]:
    """Lock and load an existing story (for an operation that changes it)."""
    folder, _ = load_story(settings, user_id, story_id)
    folder.lock()
    try:
        return folder, folder.load()
    except BaseException:
        folder.unlock()
        raise


def create_or_update_story(settings: Settings, user_id: str, story_id: str, *, text: str, title: str,
                           style: str) -> tuple[ProjectFolder, Project]:
    """A locked story holding `text`: created if new; an existing one takes the new title, style and
    script (its storyboard is marked stale when the script or style changed, so it is made again)."""
    check_story_text(text, "script_content")
    options = RunOptions(title=title.strip() or story_id, style=style.strip()).check()
    folder = story_folder(settings, user_id, story_id)
    if not folder.exists():
        refuse_missing_backends(settings)  # a new story calls every stage: say what is missing before creating it
        project = new_project(text, story=Path(story_id), settings=settings, options=options)
        project.id = story_id
        return ProjectStore(settings.projects_dir).create(project, folder.path), project
    folder.lock()
    try:
        project = folder.load()
        changed = project.script.strip() != text.strip() or project.style != options.style
        project.title, project.style = options.title or project.title, options.style or ""
        if changed:
            project.script = text
            project.storyboard.status = StageStatus.STALE
        folder.save(project)
    except BaseException:
        folder.unlock()
        raise
    return folder, project


def storyboard_mode(project: Project) -> StoryboardMode:
    """Make the storyboard when there is none or it no longer matches the script; keep it otherwise
    (so a resumed operation never pays for a storyboard it already has)."""
    if project.shots and project.storyboard.status != StageStatus.DONE:
        return "regenerate"
    return "auto"


def list_stories(settings: Settings, user_id: str) -> Iterator[tuple[str, ProjectFolder]]:
    """(story_id, folder) of every story of a user, in id order (folders that are not projects skipped)."""
    validate_id(user_id, what="user_id")
    root = users_root(settings) / user_id / "stories"
    if not root.is_dir() or root.is_symlink():
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            try:
                folder = story_folder(settings, user_id, entry.name)
            except BadInputError:
                continue
            if folder.exists():
                yield entry.name, folder


def all_story_folders(settings: Settings) -> Iterator[tuple[str, str, ProjectFolder]]:
    """(user_id, story_id, folder) of every story under the projects folder."""
    root = users_root(settings)
    if not root.is_dir() or root.is_symlink():
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            try:
                validate_id(entry.name)
            except BadInputError:
                continue
            for story_id, folder in list_stories(settings, entry.name):
                yield entry.name, story_id, folder
