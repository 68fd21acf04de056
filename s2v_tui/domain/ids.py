"""Identifiers that end up in file names: validated so no id can escape its folder."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from s2v_tui.domain.errors import BadInputError

_SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def validate_id(value: str, *, what: str = "id") -> str:
    """Return `value` if it is a safe id (lowercase letters, digits, `_`, `-`; 1–64 chars).

    Raises:
        BadInputError: for anything else, including `..`, slashes and absolute paths.
    """
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value):
        raise BadInputError(
            f"invalid {what} {value!r}",
            hint="use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        )
    return value


def id_field(value: str, *, what: str) -> str:
    """`validate_id` for pydantic validators, which report `ValueError`s as field errors."""
    try:
        return validate_id(value, what=what)
    except BadInputError as exc:
        raise ValueError(exc.message) from None


def slugify(title: str, *, now: datetime | None = None) -> str:
    """A readable, safe project id from a title; non-Latin titles fall back to `story-<time>`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = "-".join(words)[:40].strip("-")
    return f"{base}-{stamp}" if base else f"story-{stamp}"


def shot_id(sequence: int) -> str:
    return f"shot_{sequence:02d}"
