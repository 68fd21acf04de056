"""One folder per project: `project.json`, `assets/`, `output/`; the only code that writes project.json.

- Writes are atomic (`storage.atomic`), and every successful save also refreshes `project.json.bak`,
  the last good copy.
- A corrupt or schema-invalid project.json is never overwritten: loading raises `ProjectCorruptError`
  naming the file, and `restore_backup()` moves the bad file aside before restoring the copy.
- A lock (`.s2v.lock`, fcntl via filelock) keeps two processes from writing one project; the holder's
  pid is written beside it so the second process can say who holds it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from s2v_tui.domain.errors import BadInputError, ProjectCorruptError, ProjectLockedError
from s2v_tui.domain.ids import validate_id
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import utcnow
from s2v_tui.storage.atomic import atomic_write_bytes, sha256_file, sweep_temp_files
from s2v_tui.storage.migrations import migrate

PROJECT_FILE = "project.json"
BACKUP_FILE = "project.json.bak"
LOCK_FILE = ".s2v.lock"
LOCK_OWNER_FILE = ".s2v.lock.owner"


def _describe_validation(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    more = f" (+{error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return "; ".join(parts) + more


class ProjectFolder:
    """A handle on one project directory. Create with `ProjectFolder(path)`; `lock()` before saving."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self.json_path = self.path / PROJECT_FILE
        self.backup_path = self.path / BACKUP_FILE
        self.assets_dir = self.path / "assets"
        self.output_dir = self.path / "output"
        self._lock: FileLock | None = None
        self.read_only = False
        self._write_lock = threading.Lock()
        self._version = 0
        self._written_version = 0
        self._hash_memo: dict[tuple[str, int, int], str] = {}

    # -- locking -----------------------------------------------------------------------------
    def lock(self) -> ProjectFolder:
        """Take the write lock (non-blocking). Raises `ProjectLockedError` naming the holder."""
        if self._lock is not None:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / LOCK_FILE), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise ProjectLockedError(
                f"project {self.path} is open in another s2v process ({self.lock_holder()})",
                hint="close the other s2v, or open this project read-only",
            ) from None
        self._lock = lock
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": utcnow().isoformat()}
        (self.path / LOCK_OWNER_FILE).write_text(json.dumps(owner))
        sweep_temp_files(self.path)  # temp files of a killed writer; safe: we hold the lock
        return self

    def lock_holder(self) -> str:
        try:
            owner = json.loads((self.path / LOCK_OWNER_FILE).read_text())
            return f"pid {owner['pid']} on {owner['host']} since {owner['since'][:19]}"
        except (OSError, ValueError, KeyError):
            return "holder unknown"

    def unlock(self) -> None:
        if self._lock is not None:
            (self.path / LOCK_OWNER_FILE).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def __enter__(self) -> ProjectFolder:
        return self.lock()

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    # -- load/save ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.json_path.is_file()

    def load(self) -> Project:
        """Read, migrate and validate project.json.

        Raises:
            ProjectCorruptError: the file is not JSON or not a valid project (file left untouched).
            BadInputError: there is no project here.
        """
        if not self.exists():
            raise BadInputError(f"no project at {self.path} ({PROJECT_FILE} not found)",
                                hint="pass a story file to start a new project, or a folder made by s2v")
        raw = self.json_path.read_bytes()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
        except ValueError as exc:
            raise ProjectCorruptError(f"{self.json_path} is not valid JSON: {exc}", hint=self._restore_hint()) from None
        data, migrated = migrate(data, source=str(self.json_path))
        try:
            project = Project.model_validate(data)
        except ValidationError as exc:
            raise ProjectCorruptError(
                f"{self.json_path} is not a valid project: {_describe_validation(exc)}", hint=self._restore_hint()
            ) from None
        if migrated and self.locked:
            self.save(project)
        return project

    def _restore_hint(self) -> str:
        if self.backup_path.is_file():
            when = datetime.fromtimestamp(self.backup_path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
            return (f"fix the file by hand, or run `s2v restore {self.path}` to restore the last good copy "
                    f"(saved {when}); the broken file will be kept beside it")
        return "fix the file by hand; no earlier good copy exists"

    def save(self, project: Project) -> None:
        self.write(*self.serialise(project))

    def serialise(self, project: Project) -> tuple[bytes, int]:
        """The bytes to write and their version; call on the thread that owns `project`."""
        if self.read_only or not self.locked:
            raise ProjectLockedError(f"project {self.path} is not open for writing",
                                     hint="open it without read-only mode (and close other s2v processes)")
        project.updated_at = utcnow()
        with self._write_lock:
            self._version += 1
            version = self._version
        return project.model_dump_json(indent=2).encode("utf-8") + b"\n", version

    def write(self, data: bytes, version: int) -> None:
        """Write serialised bytes (thread-safe). An older version arriving late is dropped, so a slow
        background write can never overwrite a newer state."""
        with self._write_lock:
            if version <= self._written_version:
                return
            atomic_write_bytes(self.json_path, data)
            atomic_write_bytes(self.backup_path, data)
            self._written_version = version

    def restore_backup(self) -> Path:
        """Move the current (broken) project.json aside and put the last good copy in its place."""
        if not self.backup_path.is_file():
            raise BadInputError(f"no backup to restore in {self.path}")
        kept = self.json_path.with_name(f"{PROJECT_FILE}.broken-{utcnow().strftime('%Y%m%d-%H%M%S')}")
        if self.json_path.exists():
            os.replace(self.json_path, kept)
        atomic_write_bytes(self.json_path, self.backup_path.read_bytes())
        return kept

    # -- paths -------------------------------------------------------------------------------
    def resolve(self, relative: str) -> Path:
        """Absolute path of a project-relative path; refuses anything that escapes the folder."""
        target = (self.path / relative).resolve()
        if target != self.path and self.path not in target.parents:
            raise BadInputError(f"path {relative!r} escapes the project folder")
        return target

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.path).as_posix()

    def asset_relpath(self, shot_id: str, stage: str, input_hash: str, ext: str) -> str:
        """Content-addressed location: the same inputs always map to the same file name."""
        validate_id(shot_id, what="shot id")
        return f"assets/{shot_id}/{stage}-{input_hash[:16]}{ext}"

    def asset_ok(self, relative: str, sha256: str) -> bool:
        """The file exists and still has the recorded content.

        Hashes are memoised by (path, size, mtime), so re-checking an unchanged project is cheap.
        """
        try:
            path = self.resolve(relative)
            stat = path.stat()
        except (OSError, BadInputError):
            return False
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        digest = self._hash_memo.get(key)
        if digest is None:
            digest = sha256_file(path)
            self._hash_memo[key] = digest
        return digest == sha256


@dataclass(frozen=True)
class ProjectSummary:
    id: str
    title: str
    path: Path
    shots: int
    status: str
    rendered_at: datetime | None
    error: str | None = None


class ProjectStore:
    """The projects directory: list, create, delete and duplicate project folders by id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def folder(self, project_id: str) -> ProjectFolder:
        return ProjectFolder(self.root / validate_id(project_id, what="project id"))

    def create(self, project: Project, path: Path | None = None) -> ProjectFolder:
        """Write a new project (into `path`, or `root/<id>`), locked for the caller."""
        folder = ProjectFolder(path) if path is not None else self.folder(project.id)
        if folder.exists():
            raise BadInputError(f"a project already exists at {folder.path}",
                                hint="run it with `s2v --run <that folder>` or choose another --out")
        folder.lock()
        folder.save(project)
        return folder

    def list(self) -> list[ProjectSummary]:
        summaries: list[ProjectSummary] = []
        if not self.root.is_dir():
            return summaries
        for child in sorted(self.root.iterdir()):
            if not (child / PROJECT_FILE).is_file():
                continue
            folder = ProjectFolder(child)
            try:
                project = folder.load()
            except (ProjectCorruptError, BadInputError) as exc:
                summaries.append(ProjectSummary(child.name, child.name, child, 0, "corrupt", None, str(exc)))
                continue
            summaries.append(ProjectSummary(
                project.id, project.title, child, len(project.shots),
                project.render.state.status.value, project.render.rendered_at))
        return summaries

    def delete(self, project_id: str) -> None:
        folder = self.folder(project_id)
        if folder.path.parent != self.root or not folder.exists():
            raise BadInputError(f"no project {project_id!r} in {self.root}")
        folder.lock()  # refuse to delete a project another process has open
        try:
            shutil.rmtree(folder.path)
        finally:
            folder._lock = None

    def duplicate(self, project_id: str, new_id: str, new_title: str) -> ProjectFolder:
        source = self.folder(project_id)
        target = self.folder(new_id)
        if target.path.exists():
            raise BadInputError(f"{target.path} already exists")
        project = source.load()
        if source.assets_dir.is_dir():
            shutil.copytree(source.assets_dir, target.assets_dir)
        copy = project.model_copy(update={"id": new_id, "title": new_title}, deep=True)
        return self.create(copy, target.path)
