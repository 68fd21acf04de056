"""Subtitle cues: CJK-aware chunking and line breaking, timing from TTS word events, SRT/ASS output.

Cues are timed from the voice backend's word timings (character offsets + seconds) when it has them,
otherwise spread over the speech by character count. A cue never starts before the previous one ends
and never outlives its shot. Lines are measured in display units (CJK = 2, Latin = 1) and broken at
punctuation or spaces, never before a closing mark like "，" or after an opening one like "“".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysubs2
from pydantic import BaseModel

STRONG_BREAKS = "。！？!?；;…\n"
WEAK_BREAKS = "，,、：:—"
NO_LINE_START = set("，。！？、；：”’）》」』】,.!?;:)]}%")
NO_LINE_END = set("“‘（《「『【([{")
TRAILING_TRIM = "，。、；,.;: \u3000"


@dataclass(frozen=True)
class WordTiming:
    """One spoken unit: where it starts in the narration text and when it is heard."""

    char_start: int
    start: float


class Cue(BaseModel):
    start: float
    end: float
    text: str
    """Display text; lines separated by "\\n"."""


def units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class SubtitleLayout:
    font_size: int
    max_units: int
    """Display units per line."""
    max_lines: int = 2
    margin_v: int = 0


def layout_for(width: int, height: int, scale: float = 1.0) -> SubtitleLayout:
    font_size = max(12, round(min(width, height) * 0.058 * scale))
    usable = width * 0.88
    return SubtitleLayout(font_size=font_size, max_units=max(8, int(usable / (font_size * 0.52))),
                          margin_v=round(height * 0.07))


def _split_keep(text: str, breaks: str) -> list[str]:
    pieces = re.split(f"(?<=[{re.escape(breaks)}])", text)
    return [p for p in pieces if p.strip()]


def _hard_split(text: str, limit: int) -> list[str]:
    """Split an unbreakable run by width: at spaces for Latin text, between CJK characters otherwise."""
    tokens = re.findall(r"[A-Za-z0-9'’\-]+\s*|\s+|.", text)
    out, current = [], ""
    for token in tokens:
        if current and units(current + token.rstrip()) > limit and token[0] not in NO_LINE_START \
                and current[-1] not in NO_LINE_END:
            out.append(current)
            current = token.lstrip()
        else:
            current += token
    if current.strip():
        out.append(current)
    return out


def chunk_text(text: str, max_units: int, max_lines: int = 2) -> list[str]:
    """Split narration into cue-sized pieces, preferring sentence, then clause boundaries.

    The pieces concatenate back to the original text (so character offsets stay valid).
    """
    capacity = max_units * max_lines
    chunks: list[str] = []
    for sentence in _split_keep(text, STRONG_BREAKS) or ([text] if text else []):
        if units(sentence.strip()) <= capacity:
            chunks.append(sentence)
            continue
        current = ""
        for clause in _split_keep(sentence, WEAK_BREAKS):
            parts = [clause] if units(clause.strip()) <= capacity else _hard_split(clause, capacity)
            for part in parts:
                if current and units((current + part).strip()) > capacity:
                    chunks.append(current)
                    current = part
                else:
                    current += part
        if current:
            chunks.append(current)
    # Leading whitespace of a piece belongs to it; keep offsets exact by not stripping here.
    return chunks


def wrap(text: str, max_units: int) -> list[str]:
    """Break one cue into at most two balanced lines."""
    text = text.strip().rstrip(TRAILING_TRIM) or text.strip()
    if units(text) <= max_units:
        return [text]
    best, best_score = None, None
    for i in range(1, len(text)):
        left, right = text[:i].rstrip(), text[i:].lstrip()
        if not left or not right or right[0] in NO_LINE_START or left[-1] in NO_LINE_END:
            continue
        if text[i - 1].isascii() and text[i - 1].isalnum() and text[i].isascii() and text[i].isalnum():
            continue  # never split inside a Latin word
        overflow = max(0, units(left) - max_units) + max(0, units(right) - max_units)
        score = (overflow, 0 if left[-1] in WEAK_BREAKS + " " else 1, abs(units(left) - units(right)))
        if best_score is None or score < best_score:
            best, best_score = [left, right], score
    return best or [text]


def build_cues(
    text: str,
    *,
    speech_seconds: float,
    shot_seconds: float,
    timings: Sequence[WordTiming] | None,
    layout: SubtitleLayout,
    hold: float = 0.25,
) -> list[Cue]:
    """Timed cues for one shot; times are relative to the shot start."""
    if not text.strip():
        return []
    pieces = chunk_text(text, layout.max_units, layout.max_lines)
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset + (len(piece) - len(piece.lstrip())))
        offset += len(piece)
    ordered = sorted(timings or [], key=lambda t: t.char_start)

    def time_at(char: int) -> float:
        if ordered:
            before = [t.start for t in ordered if t.char_start <= char]
            return before[-1] if before else ordered[0].start
        return speech_seconds * char / max(1, len(text))

    limit = max(0.1, shot_seconds - 0.02)
    cues: list[Cue] = []
    for index, piece in enumerate(pieces):
        start = time_at(starts[index])
        end = time_at(starts[index + 1]) if index + 1 < len(pieces) else speech_seconds + hold
        start = max(start, cues[-1].end if cues else 0.0)
        end = min(max(end, start + 0.3), limit)
        if start >= limit:
            break
        lines = wrap(piece, layout.max_units)
        cues.append(Cue(start=round(start, 3), end=round(end, 3), text="\n".join(lines)))
    return cues


def shifted(cues: Sequence[Cue], offset: float) -> list[Cue]:
    return [Cue(start=c.start + offset, end=c.end + offset, text=c.text) for c in cues]


def _ssa(cues: Sequence[Cue]) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000),
                                     text=cue.text.replace("\n", r"\N")))
    return subs


def write_srt(cues: Sequence[Cue], path: Path) -> None:
    _ssa(cues).save(str(path), format_="srt", encoding="utf-8")


def write_ass(cues: Sequence[Cue], path: Path, *, width: int, height: int, font_family: str,
              layout: SubtitleLayout) -> None:
    subs = _ssa(cues)
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
                      "ScaledBorderAndShadow": "yes"})
    style = subs.styles["Default"]
    style.fontname = font_family
    style.fontsize = layout.font_size
    style.primarycolor = pysubs2.Color(255, 255, 255, 0)
    style.outlinecolor = pysubs2.Color(0, 0, 0, 0)
    style.backcolor = pysubs2.Color(0, 0, 0, 128)
    style.outline = max(1.5, layout.font_size * 0.07)
    style.shadow = 1
    style.alignment = pysubs2.Alignment.BOTTOM_CENTER
    style.marginv = layout.margin_v
    style.marginl = style.marginr = round(width * 0.05)
    subs.save(str(path), format_="ass", encoding="utf-8")


def read_srt(path: Path) -> list[Cue]:
    subs = pysubs2.load(str(path), encoding="utf-8")
    return [Cue(start=e.start / 1000, end=e.end / 1000, text=e.plaintext) for e in subs]
