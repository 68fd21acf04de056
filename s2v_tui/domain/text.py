"""What counts as words in a story or a narration line (pure text rules, no I/O).

A story of only punctuation, zero-width characters, control characters, Markdown rules (`---`, `***`),
empty code fences or list markers has nothing to narrate: it must be refused with that message, not
turned into a film whose subtitles read `!` or whose narration is silence.
"""

from __future__ import annotations

import re
import unicodedata

NO_WORDS_HINT = "write the story in words: punctuation, symbols, Markdown rules and list markers are not narrated"
_MARKUP_LINE = re.compile(r"^\s*(?:[-*_=~`]{3,}\w*|#{1,6}|>+|[-*+•·]|\d{1,3}[.)、])\s*$")
"""Lines that are Markdown scaffolding only: rules, fences, bare heading/quote/list markers."""
_LIST_MARKER = re.compile(r"^\s*(?:#{1,6}|>+|[-*+•·]|\d{1,3}[.)、])\s+")


def has_words(text: str) -> bool:
    """True when `text` has at least one letter or digit outside Markdown scaffolding."""
    for line in text.splitlines():
        if _MARKUP_LINE.match(line):
            continue
        body = _LIST_MARKER.sub("", line, count=1)
        if any(unicodedata.category(ch)[0] in "LN" for ch in body):
            return True
    return False
