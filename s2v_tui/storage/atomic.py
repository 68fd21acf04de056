"""Crash-safe file writes: temp file in the same folder, fsync, `os.replace`, fsync the folder.

A reader (or a process killed at any instant) sees either the old file or the new one, never a torn
write; temp files that a SIGKILL leaves behind are named `.<name>.<8 hex>.tmp` and swept by `sweep_temp_files`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """A unique sibling temp name (same filesystem, so `os.replace` is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temp path to write `path` through; it replaces `path` only if the block succeeds.

    On any exception (including cancellation) the partial temp file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `path` atomically. The temp file is created exclusively (O_EXCL: never through an existing
    name or link) and `os.replace` swaps the directory entry, so a link at `path` is replaced, not followed."""
    with atomic_output(path) as tmp, open(tmp, "xb") as handle:
        handle.write(data)


def _temp_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"\.({alternatives})\.[0-9a-f]{{8}}{re.escape(TEMP_SUFFIX)}")


def sweep_temp_files(folder: Path, names: Iterable[str]) -> int:
    """Remove the temp files a killed writer left for `names` directly in `folder`; returns how many.

    Only s2v's own temp names (`.<name>.<8 hex>.tmp`) are touched, and only in `folder` itself — never
    below it, never through a link — so a stray `.draft.tmp` of the user's is never deleted.
    """
    pattern = _temp_pattern(names)
    removed = 0
    if folder.is_dir():
        for entry in os.scandir(folder):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
