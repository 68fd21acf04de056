"""The projects screen's model: list, create, rename, duplicate and delete projects — no widgets here.

Every method is synchronous file work, so the projects screen calls them in thread workers. Deleting
goes through `ProjectStore.delete`, which refuses anything that is not a project folder directly
inside the projects directory; nothing here removes files itself.
"""

from __future__ import annotations

from pathlib import Path

from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.ids import slugify
from s2v_tui.domain.project import Project, VideoFormat, detect_language, parse_size
from s2v_tui.storage.project_store import ProjectFolder, ProjectStore, ProjectSummary
from s2v_tui.workspace.opening import RunOptions, new_project
from s2v_tui.workspace.stories import read_story


class ProjectLibrary:
    """The projects directory as the studio sees it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ProjectStore(settings.projects_dir)

    @property
    def root(self) -> Path:
        return self.store.root

    def list(self) -> list[ProjectSummary]:
        return self.store.list()

    def _free_id(self, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`… when a folder of that name exists."""
        candidate, number = wanted, 2
        while (self.root / candidate).exists():
            candidate = f"{wanted[:60]}-{number}"
            number += 1
        return candidate

    def create_from_script(self, story: Path) -> ProjectFolder:
        """A new project from a story file; returns its folder, locked for the caller."""
        story = Path(story).expanduser()
        text = read_story(story)
        project = new_project(text, story=story, settings=self.settings, options=RunOptions())
        project.id = self._free_id(project.id)
        return self.store.create(project)

    def create_blank(self, title: str) -> ProjectFolder:
        """An empty project (write the script in the studio); returns its folder, locked for the caller."""
        title = title.strip()
        if not title:
            raise BadInputError("a project needs a title", hint="type a title, e.g. “The lighthouse”")
        try:
            width, height = parse_size(self.settings.render.size)
        except ValueError as exc:
            raise BadInputError(str(exc), hint="fix [render] size in config.toml") from None
        project = Project(id=self._free_id(slugify(title)), title=title, language=detect_language(title),
                          format=VideoFormat(width=width, height=height, fps=self.settings.render.fps))
        return self.store.create(project)

    def rename(self, project_id: str, title: str) -> None:
        """Change a project's title (its folder name stays: paths in other tools keep working)."""
        if not title.strip():
            raise BadInputError("a project needs a title")
        with self.store.folder(project_id) as folder:
            project = folder.load()
            project.title = title.strip()
            folder.save(project)

    def duplicate(self, project_id: str) -> str:
        """Copy a project (script, shots and assets) under a new id; returns the new id."""
        source = self.store.folder(project_id).load()
        new_id = self._free_id(f"{project_id[:56]}-copy")
        folder = self.store.duplicate(project_id, new_id, f"{source.title} (copy)")
        folder.unlock()
        return new_id

    def delete(self, project_id: str) -> None:
        self.store.delete(project_id)
