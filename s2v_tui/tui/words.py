"""Small wording helpers: counts with the right plural, and hint lines that fit the width they have."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 shot", "2 shots", "0 shots"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def fit_parts(parts: Sequence[str], width: int, sep: str = " · ") -> str:
    """The first part, then as many of the next ones (in order) as fit in `width` cells."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        if cell_len(text + sep + part) > width:
            break
        text += sep + part
    return text
