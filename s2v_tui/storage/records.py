"""Asset records: how a finished file is adopted after a crash instead of being made (and paid for) again.

Placing an asset and saving project.json are two steps, and a SIGKILL can fall between them. So an
asset is committed in this order: (1) its record — the full `Asset`, with the sha256 of every file — is
written atomically to `assets/.records/<owner>/<stage>-<input hash>.json`; (2) its files are renamed
into place; (3) project.json is saved. A resumed run that finds a record for exactly the inputs it
needs, whose files are on disk with the recorded hashes, adopts the asset: nothing is rebuilt or paid.
A record without its files (killed between 1 and 2) is simply ignored.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.ids import validate_id
from s2v_tui.domain.shot import Asset
from s2v_tui.faults import fault_point
from s2v_tui.storage.atomic import atomic_write_bytes, fsync_dir, sha256_file

RECORDS = "assets/.records"


def record_relpath(owner: str, stage: str, input_hash: str) -> str:
    """Where the record of `owner`'s (a shot id, or "film") `stage` for `input_hash` lives."""
    validate_id(owner, what="asset owner")
    return f"{RECORDS}/{owner}/{stage}-{input_hash[:32]}.json"


COMPANIONS = ("wav", "srt")
"""Meta keys naming a second file of an asset (`<key>` path, `<key>_sha256`): a segment's WAV, the film's SRT."""


def asset_files(asset: Asset) -> list[tuple[str, str]]:
    """(relative path, sha256) of every file an asset consists of."""
    files = [(asset.path, asset.sha256)]
    for key in COMPANIONS:
        if asset.meta.get(key):
            files.append((str(asset.meta[key]), str(asset.meta.get(f"{key}_sha256", ""))))
    return files


class AssetRecords:
    """Record I/O for one project folder; `resolve` is the folder's link-refusing path resolver."""

    def __init__(self, root: Path, resolve) -> None:  # type: ignore[no-untyped-def]
        self.root = root
        self.resolve = resolve

    def commit(self, owner: str, stage: str, asset: Asset, moves: Sequence[tuple[Path, str]]) -> None:
        """Write the record, then move each produced file to its relative path (skipping a target that
        already holds the same bytes, so a complete file is never rewritten)."""
        record = self.resolve(record_relpath(owner, stage, asset.input_hash))
        record.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(record, asset.model_dump_json(indent=2).encode("utf-8"))
        fault_point("record")
        expected = dict(asset_files(asset))
        for produced, relative in moves:
            target = self.resolve(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file() and sha256_file(target) == expected.get(relative):
                produced.unlink(missing_ok=True)
                continue
            os.replace(produced, target)
            fsync_dir(target.parent)

    def adoptable(self, owner: str, stage: str, input_hash: str, check) -> Asset | None:  # type: ignore[no-untyped-def]
        """The recorded asset for exactly these inputs, if every file of it is on disk intact
        (`check(relative, sha256)` is the folder's memoised hash check)."""
        try:
            path = self.resolve(record_relpath(owner, stage, input_hash))
            if not path.is_file():
                return None
            asset = Asset.model_validate_json(path.read_bytes())
        except (OSError, ValueError, ValidationError, BadInputError):
            return None
        if asset.input_hash != input_hash:
            return None
        if all(sha and check(rel, sha) for rel, sha in asset_files(asset)):
            return asset
        return None

    def forget(self, owner: str, stage: str, asset: Asset) -> None:
        with contextlib.suppress(OSError, BadInputError):
            self.resolve(record_relpath(owner, stage, asset.input_hash)).unlink(missing_ok=True)
