"""Schema versions of project.json and the migrations between them.

`migrate(data)` upgrades a raw JSON document step by step to `SCHEMA_VERSION`. Version 0 is the
original Story2Video service's on-disk layout (story JSON + `shots`, seed-original.md §8), so a story
exported from it opens here with its shots intact. Add a function per new version; never edit old ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from s2v_tui.domain.errors import ProjectCorruptError
from s2v_tui.domain.ids import slugify
from s2v_tui.domain.project import SCHEMA_VERSION, detect_language

Document = dict[str, Any]


def _from_seed(data: Document) -> Document:
    """v0 → v1: the seed's `{story_id, display_name, style, script_content, shots:[...]}`."""
    title = str(data.get("display_name") or data.get("title") or data.get("story_id") or "story")
    script = str(data.get("script_content") or data.get("script") or "")
    shots = []
    for index, raw in enumerate(data.get("shots") or [], start=1):
        shots.append({
            "id": f"shot_{index:02d}",
            "sequence": index,
            "subject": raw.get("subject") or "",
            "detail": raw.get("detail") or raw.get("details") or "",
            "narration": raw.get("narration") or "",
            "camera": raw.get("camera") or "镜头推进",
            "tone": raw.get("tone") or "",
        })  # image_url/video_url were expiring presigned URLs: not carried over
    return {
        "schema_version": 1,
        "id": data.get("id") or slugify(title),
        "title": title,
        "script": script,
        "style": data.get("style") or "",
        "language": detect_language(script or "".join(s["narration"] for s in shots)),
        "shots": shots,
    }


def _takes(data: Document) -> Document:
    """v1 → v2: stages keep takes. Each keyframe, voice and clip a shot has becomes its take 1 (chosen)."""
    shots = data.get("shots")
    for shot in shots if isinstance(shots, list) else []:  # anything malformed is left to validation
        stages = shot.get("stages") if isinstance(shot, dict) else None
        for stage, state in stages.items() if isinstance(stages, dict) else []:
            if stage in ("keyframe", "voice", "clip") and isinstance(state, dict) and state.get("asset"):
                state.setdefault("takes", [{"number": 1, "asset": state["asset"]}])
    return {**data, "schema_version": 2}


MIGRATIONS: dict[int, Callable[[Document], Document]] = {0: _from_seed, 1: _takes}
"""MIGRATIONS[n] turns a version-n document into a version-(n+1) document."""


def migrate(data: Document, *, source: str = "project.json", hint: str | None = None) -> tuple[Document, bool]:
    """Return the document at the current schema version and whether it changed.

    Args:
        hint: what to do when the file is unusable (the store passes "restore the backup…").
    """
    version = data.get("schema_version", 0)
    fix = hint or f"set schema_version to {SCHEMA_VERSION} (a whole number) in {source}, or restore a good copy"
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectCorruptError(f"{source}: schema_version {version!r} is not a version number "
                                  f"(this s2v writes {SCHEMA_VERSION})", hint=fix)
    if version > SCHEMA_VERSION:
        raise ProjectCorruptError(
            f"{source} was written by a newer s2v (schema {version}, this one reads up to {SCHEMA_VERSION})",
            hint="upgrade s2v (pip install -U s2v-tui) to open it",
        )
    changed = False
    while version < SCHEMA_VERSION:
        try:
            data = MIGRATIONS[version](data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # hand-edited or foreign documents
            raise ProjectCorruptError(f"{source}: cannot upgrade it from schema {version}: "
                                      f"{type(exc).__name__}: {exc}", hint=fix) from None
        version = data["schema_version"]
        changed = True
    return data, changed
