"""What an offline speech engine hands back: 16-bit mono PCM and when each word starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpokenWord:
    char_index: int
    """0-based character offset of the word in the synthesised text."""
    seconds: float


@dataclass(frozen=True)
class Speech:
    samples: bytes
    """Signed 16-bit little-endian mono PCM."""
    sample_rate: int
    words: list[SpokenWord]
