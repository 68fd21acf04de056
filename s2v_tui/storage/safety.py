"""Guards that keep every read, write and delete of s2v inside its own project folder.

A project folder may come from anyone (a shared zip, a git checkout), so nothing in it is trusted: a
path is used only if it is relative, has no `..`, no NUL, and no component that is a symbolic link —
a link could point anywhere (`assets -> ~`), and s2v would then create, overwrite or delete files
that are not its own. Checking components with `lstat` (never following links) is what makes the
promise hold for paths that `resolve()` alone would accept.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from s2v_tui.domain.errors import BadInputError

LINK_HINT = ("s2v never reads or writes through symbolic links: replace the link with a real folder or file "
             "(move the content in), or remove it")


class UnsafePathError(BadInputError):
    """A path would leave the project folder (absolute, `..`, or through a symbolic link)."""

    code = "unsafe_path"


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UnsafePathError(f"cannot inspect {path}: {exc.strerror}", hint="check the folder's permissions") from None


def refuse_link(path: Path, what: str | None = None) -> Path:
    """`path` itself must not be a symbolic link (it may be missing)."""
    if _is_link(path):
        raise UnsafePathError(f"{what or path.name} ({path}) is a symbolic link", hint=LINK_HINT)
    return path


def inside(root: Path, relative: str) -> Path:
    """`root/relative`, refusing absolute paths, `..`, NUL bytes and any component that is a symlink.

    `root` must already be resolved (no links in it), so the result stays below `root`.
    """
    if not isinstance(relative, str) or "\x00" in relative or "\\" in relative:
        raise UnsafePathError(f"path {relative!r} is not a project-relative POSIX path",
                              hint="fix the path in project.json (relative, '/' separators)")
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise UnsafePathError(f"path {relative!r} escapes the project folder",
                              hint="paths in project.json must be relative and stay inside the project folder")
    current = root
    for part in rel.parts:
        current = current / part
        if _is_link(current):
            raise UnsafePathError(f"{current.relative_to(root).as_posix()} in {root} is a symbolic link", hint=LINK_HINT)
        if not current.exists():
            break  # nothing below a missing component can be a link yet
    return root.joinpath(*rel.parts)


def real_dir(root: Path, relative: str) -> Path:
    """`inside(root, relative)` as a directory, created if missing."""
    path = inside(root, relative)
    if path.exists() and not path.is_dir():
        raise UnsafePathError(f"{path} is a file where s2v keeps a folder", hint="move the file away")
    path.mkdir(parents=True, exist_ok=True)
    return path


def entries_without_links(folder: Path) -> list[Path]:
    """Every path below `folder` (not following links), refusing the first link found."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            refuse_link(path, what=path.relative_to(folder.parent).as_posix())
            found.append(path)
    return found
