"""Operations of `s2v serve`, one JSON file each in the story's project folder: `operations/<id>.json`.

Written atomically (`storage.atomic`) at every change of state, so a SIGKILL of the server leaves each
operation as it last was — a restart finds the ones still "running" and marks them "interrupted".
Paths go through `ProjectFolder.resolve` (no `..`, no links); presigned links are never stored.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pydantic import ValidationError

from s2v_tui.domain.errors import BadInputError, redact_secrets
from s2v_tui.domain.ids import validate_id
from s2v_tui.domain.operation import OperationRecord
from s2v_tui.domain.shot import utcnow
from s2v_tui.storage.atomic import atomic_write_bytes
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.storage.safety import refuse_link

OPERATIONS = "operations"
MAX_OPERATION_BYTES = 1_000_000


class OperationStore:
    """The operation files of one story."""

    def __init__(self, folder: ProjectFolder) -> None:
        self.folder = folder

    def path(self, operation_id: str) -> Path:
        return self.folder.resolve(f"{OPERATIONS}/{validate_id(operation_id, what='operation id')}.json")

    def save(self, record: OperationRecord) -> None:
        record.updated_at = utcnow()
        path = self.path(record.operation_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, redact_secrets(record.model_dump_json(indent=2)).encode("utf-8") + b"\n")

    def load_all(self) -> list[OperationRecord]:
        """Every readable operation of the story (an unreadable file is skipped: it names no operation)."""
        with contextlib.suppress(BadInputError):
            folder = self.folder.resolve(OPERATIONS)
            if not folder.is_dir():
                return []
            records = []
            for path in sorted(folder.glob("*.json")):
                with contextlib.suppress(OSError, ValueError, ValidationError, BadInputError):
                    refuse_link(path)
                    if path.stat().st_size <= MAX_OPERATION_BYTES:
                        records.append(OperationRecord.model_validate_json(path.read_bytes()))
            return records
        return []
