"""Story files: read them with clear errors, find their title, refuse ones with nothing to narrate."""

from __future__ import annotations

import re
from pathlib import Path

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.text import NO_WORDS_HINT, has_words
from s2v_tui.engine.storyboard import MAX_SCRIPT_CHARS

MAX_STORY_BYTES = 1_000_000


def check_story_text(text: str, where: str) -> str:
    """`text` if it can become a film; BadInputError saying why not (empty, binary, no words)."""
    if "\x00" in text:
        raise BadInputError(f"{where} looks like a binary file (it contains NUL bytes)", hint="pass a plain text story")
    if not text.strip():
        raise BadInputError(f"{where} is empty", hint="write the story first")
    if not has_words(text):
        raise BadInputError(f"{where} has no words to narrate", hint=NO_WORDS_HINT)
    if len(text.strip()) > MAX_SCRIPT_CHARS:
        raise BadInputError(f"{where} has {len(text.strip())} characters; one story is at most {MAX_SCRIPT_CHARS}",
                            hint="split it into several stories (one per chapter)")
    return text


def read_story(path: Path) -> str:
    """The story text; clear errors for missing, binary, empty, wordless or huge files."""
    path = Path(path)
    if path.is_dir():
        raise BadInputError(f"{path} is a folder without a project", hint="pass a story text file or a project folder")
    if not path.is_file():
        raise BadInputError(f"story file {path} not found", hint="pass a UTF-8 text file or a project folder")
    try:
        size = path.stat().st_size
        if size > MAX_STORY_BYTES:
            raise BadInputError(f"{path} is {size // 1024} KB; a story is at most {MAX_STORY_BYTES // 1000} KB",
                                hint="split it into several stories")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}", hint="check the file's permissions") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path} is not UTF-8 text (byte {exc.start})",
                            hint="save it as UTF-8 (in most editors: Save As → Encoding UTF-8)") from None
    return check_story_text(text, str(path))


def title_of(text: str, fallback: str) -> str:
    """The story's first Markdown heading, else `fallback`."""
    match = re.search(r"^\s*#\s+(.+?)\s*#*\s*$", text, re.M)
    return match.group(1).strip() if match else fallback
