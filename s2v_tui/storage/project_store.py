"""One folder per project: `project.json`, `assets/`, `output/`; the only code that writes project.json.

- Writes are atomic (`storage.atomic`); `project.json.bak`, the last good copy, is refreshed from a
  successful save at most every `BACKUP_INTERVAL` seconds and when the project is closed.
- Nothing is ever written through a symbolic link, and a folder that is neither a project nor empty is
  never locked, swept or written (`storage.safety`).
- A corrupt or schema-invalid project.json is never overwritten: loading raises `ProjectCorruptError`
  naming the file, and `restore_backup()` moves the bad file aside before restoring the copy.
- A lock (`.s2v.lock`, fcntl via filelock) keeps two processes from writing one project; the holder's
  pid is written beside it so the second process can say who holds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from s2v_tui.domain.errors import BadInputError, ProjectCorruptError, ProjectLockedError, redact_secrets
from s2v_tui.domain.ids import validate_id
from s2v_tui.domain.project import MAX_SHOTS, Project
from s2v_tui.domain.shot import utcnow
from s2v_tui.faults import fault_point
from s2v_tui.storage.atomic import atomic_write_bytes, sha256_file, sweep_temp_files
from s2v_tui.storage.migrations import migrate
from s2v_tui.storage.records import AssetRecords
from s2v_tui.storage.safety import LINK_HINT, UnsafePathError, entries_without_links, inside, real_dir, refuse_link

PROJECT_FILE = "project.json"
BACKUP_FILE = "project.json.bak"
LOCK_FILE = ".s2v.lock"
LOCK_OWNER_FILE = ".s2v.lock.owner"
MAX_PROJECT_BYTES = 32_000_000
"""Far above any real project (hundreds of shots are a few MB); a bigger file is refused with a message."""
BACKUP_INTERVAL = 30.0
SCRATCH = "assets/.work"
OWN_FILES = (PROJECT_FILE, BACKUP_FILE, LOCK_OWNER_FILE)
"""The files s2v writes atomically at the top of a project (their temp files are the only ones it sweeps)."""


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
        self._unbacked: bytes | None = None
        self._backed_up_at = float("-inf")
        self.records = AssetRecords(self.path, self.resolve)

    # -- locking -----------------------------------------------------------------------------
    def lock(self) -> ProjectFolder:
        """Take the write lock (non-blocking). Raises `ProjectLockedError` naming the holder.

        The folder must hold a project, or be missing or empty (a project about to be created): s2v
        never puts its lock, scratch or project files into a folder of someone else's files.
        """
        if self._lock is not None:
            return self
        self._check_is_ours()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # under a file, read-only, /proc…
            raise BadInputError(f"cannot create the project folder {self.path}: {exc.strerror}",
                                hint="choose a writable folder (e.g. under your home folder)") from None
        lock_path = refuse_link(self.path / LOCK_FILE, what=LOCK_FILE)
        lock = FileLock(str(lock_path), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise ProjectLockedError(
                f"project {self.path} is open in another s2v process ({self.lock_holder()})",
                hint="close the other s2v, or open this project read-only",
            ) from None
        except OSError as exc:  # e.g. ELOOP: the lock file became a link after the check
            raise UnsafePathError(f"cannot lock {lock_path}: {exc.strerror}", hint=LINK_HINT) from None
        self._lock = lock
        try:
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": utcnow().isoformat()}
            # Replaces whatever entry is there (a planted link included) and never writes through it.
            atomic_write_bytes(self.path / LOCK_OWNER_FILE, json.dumps(owner).encode())
            sweep_temp_files(self.path, OWN_FILES)  # temp files of a killed writer; safe: we hold the lock
            self.check_tree()
        except BaseException:
            self.unlock()
            raise
        return self

    def _check_is_ours(self) -> None:
        """Refuse folders that are neither an s2v project nor empty, before anything is written there."""
        if self.path.exists() and not self.path.is_dir():
            raise BadInputError(f"{self.path} is a file, not a project folder",
                                hint="pass a project folder, or a new folder name for --out")
        refuse_link(self.json_path, what=PROJECT_FILE)
        if self.exists() or refuse_link(self.backup_path, what=BACKUP_FILE).is_file() or not self.path.exists():
            return
        try:
            foreign = [p.name for p in self.path.iterdir() if p.name not in (LOCK_FILE, LOCK_OWNER_FILE)]
        except OSError as exc:
            raise BadInputError(f"cannot read {self.path}: {exc.strerror}", hint="check its permissions") from None
        if foreign:
            raise BadInputError(
                f"{self.path} is not an s2v project ({PROJECT_FILE} not found) and is not empty",
                hint="pass a folder made by s2v, a story file to start a new project, "
                     "or a new or empty folder for --out")

    def check_tree(self) -> None:
        """Refuse a project whose own files or folders are symbolic links (they could point anywhere)."""
        for name in (PROJECT_FILE, BACKUP_FILE, "assets", "output"):
            refuse_link(self.path / name, what=name)
        for folder in (self.assets_dir, self.output_dir):
            if folder.is_dir():
                entries_without_links(folder)

    def lock_holder(self) -> str:
        try:
            owner = json.loads(refuse_link(self.path / LOCK_OWNER_FILE).read_text())
            return f"pid {owner['pid']} on {owner['host']} since {owner['since'][:19]}"
        except (OSError, ValueError, KeyError, TypeError, BadInputError):
            return "holder unknown"

    def unlock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.path / LOCK_OWNER_FILE).unlink(missing_ok=True)  # unlink removes a link, never its target
            with contextlib.suppress(OSError), self._write_lock:
                self._write_backup()
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
        """Read, migrate and validate project.json (nothing is written: a migrated project is saved by
        the first real change).

        Raises:
            ProjectCorruptError: the file is not JSON or not a valid project (file left untouched).
            BadInputError: there is no project here, or project.json is a link or too large.
        """
        refuse_link(self.json_path, what=PROJECT_FILE)
        if not self.exists():
            raise BadInputError(f"no project at {self.path} ({PROJECT_FILE} not found)",
                                hint="pass a story file to start a new project, or a folder made by s2v")
        size = self.json_path.stat().st_size
        if size > MAX_PROJECT_BYTES:
            raise ProjectCorruptError(
                f"{self.json_path} is {size // 1_000_000} MB; a project file is at most "
                f"{MAX_PROJECT_BYTES // 1_000_000} MB", hint=self._restore_hint())
        raw = self.json_path.read_bytes()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
        except RecursionError:
            raise ProjectCorruptError(f"{self.json_path} is nested too deeply to be a project",
                                      hint=self._restore_hint()) from None
        except ValueError as exc:
            raise ProjectCorruptError(f"{self.json_path} is not valid JSON: {exc}", hint=self._restore_hint()) from None
        data, _ = migrate(data, source=str(self.json_path), hint=self._restore_hint())
        shots = data.get("shots")
        if isinstance(shots, list) and len(shots) > MAX_SHOTS:  # refuse before validating 100 000 of them
            raise ProjectCorruptError(f"{self.json_path} has {len(shots)} shots; a project has at most {MAX_SHOTS}",
                                      hint="split the story into several projects")
        try:
            return Project.model_validate(data)
        except ValidationError as exc:
            raise ProjectCorruptError(
                f"{self.json_path} is not a valid project: {_describe_validation(exc)}", hint=self._restore_hint()
            ) from None
        except RecursionError:
            raise ProjectCorruptError(f"{self.json_path} is nested too deeply to be a project",
                                      hint=self._restore_hint()) from None

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
        # A key can only get here by a bug (every message is redacted where it is made); never let it reach disk.
        return redact_secrets(project.model_dump_json(indent=2)).encode("utf-8") + b"\n", version

    def write(self, data: bytes, version: int) -> None:
        """Write serialised bytes (thread-safe). An older version arriving late is dropped, so a slow
        background write can never overwrite a newer state. The backup copy is refreshed at most every
        `BACKUP_INTERVAL` seconds (and on unlock), so a busy run writes one file per save, not two."""
        with self._write_lock:
            if version <= self._written_version:
                return
            atomic_write_bytes(self.json_path, data)
            fault_point("save")
            self._written_version = version
            self._unbacked = data
            if time.monotonic() - self._backed_up_at >= BACKUP_INTERVAL:
                self._write_backup()

    def _write_backup(self) -> None:
        if self._unbacked is not None:
            atomic_write_bytes(self.backup_path, self._unbacked)
            self._unbacked = None
            self._backed_up_at = time.monotonic()

    def restore_backup(self) -> Path:
        """Move the current (broken) project.json aside and put the last good copy in its place."""
        refuse_link(self.backup_path, what=BACKUP_FILE)
        if not self.backup_path.is_file():
            raise BadInputError(f"no backup to restore in {self.path} ({BACKUP_FILE} not found)",
                                hint="fix project.json by hand; s2v keeps a backup only once it has saved the project")
        kept = self.json_path.with_name(f"{PROJECT_FILE}.broken-{utcnow().strftime('%Y%m%d-%H%M%S')}")
        if self.json_path.exists():
            os.replace(self.json_path, kept)
        atomic_write_bytes(self.json_path, self.backup_path.read_bytes())
        return kept

    # -- paths -------------------------------------------------------------------------------
    def resolve(self, relative: str) -> Path:
        """Absolute path of a project-relative path; refuses anything that escapes the folder, including
        through a symbolic link anywhere on the way (`storage.safety`)."""
        return inside(self.path, relative)

    def scratch_dir(self, name: str) -> Path:
        """A new scratch folder under `assets/.work` (never through a link), removed by the caller."""
        return real_dir(self.path, f"{SCRATCH}/{name}")

    def clear_scratch(self) -> None:
        """Remove what a killed run left in `assets/.work` (s2v's own folder; links on the way are refused)."""
        scratch = inside(self.path, SCRATCH)
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)

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
        source.check_tree()  # a link in the source would make the copy read files from elsewhere
        if source.assets_dir.is_dir():
            shutil.copytree(source.assets_dir, target.assets_dir, ignore=shutil.ignore_patterns(".work"))
        copy = project.model_copy(update={"id": new_id, "title": new_title}, deep=True)
        return self.create(copy, target.path)
