"""Text → Kokoro-82M v1.0 phonemes, word by word, so the model's durations can time each word.

Mandarin follows misaki's Chinese G2P for Kokoro v1.0 (jieba words → pypinyin syllables → IPA with
tone arrows), with two changes: pinyin comes from the whole run of Han characters with pypinyin's
tone sandhi (你好 → ni2 hao3; misaki converts word by word without it), and Latin words inside
Chinese are spoken as English instead of passing through as letters. English words are phonemised by
the bundled espeak-ng and mapped onto Kokoro's US-English phoneme set (as misaki's espeak fallback
does). Every piece keeps the offset of its first character, which is how timings reach subtitles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ZH_PIECES = re.compile(rf"([{HAN}]+)|([A-Za-z0-9][A-Za-z0-9'’\-]*)|([^{HAN}A-Za-z0-9]+)")
_EN_PIECES = re.compile(r"([A-Za-z0-9][A-Za-z0-9'’\-.]*[A-Za-z0-9]|[A-Za-z0-9])|(\s+)|([^\sA-Za-z0-9]+)")
_ZH_PUNCTUATION = {"、": ", ", "，": ", ", "。": ". ", "．": ". ", "！": "! ", "：": ": ", "；": "; ", "？": "? ",
                   "《": " “", "》": "” ", "「": " “", "」": "” ", "『": " “", "』": "” ", "【": " “", "】": "” ",
                   "（": " (", "）": ") ", "——": "—", "……": "…"}
_ESPEAK_TO_KOKORO = sorted({
    "a^ɪ": "I", "a^ʊ": "W", "e^ɪ": "A", "o^ʊ": "O", "ə^ʊ": "O", "ɔ^ɪ": "Y", "d^ʒ": "ʤ", "t^ʃ": "ʧ",
    "ɚ": "əɹ", "ɜː": "ɜɹ", "ɪə": "iə", "r": "ɹ", "ɐ": "ə", "x": "k", "ç": "k", "ɬ": "l", "e": "A",
    "ɾ": "T", "ʔ": "t", "ː": "", "^": "", "\u0303": "", "ʲ": "",
}.items(), key=lambda pair: -len(pair[0]))
"""espeak-ng's en-us IPA (with "^" ties) → the phoneme symbols Kokoro v1.0 was trained on."""


@dataclass(frozen=True)
class Piece:
    char_index: int
    """Offset of the piece's first character in the text given to the G2P."""
    phonemes: str
    is_word: bool
    """Spoken words get a timing; punctuation and spaces only shape prosody."""


EnglishPhonemes = Callable[[str], str]
"""espeak-ng IPA (with "^" ties) for one English word."""


def kokoro_english(ipa: str) -> str:
    for old, new in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return re.sub(r"(\S)\u0329", r"ᵊ\1", ipa).replace("\u0329", "")


def _punctuation(text: str) -> str:
    for old, new in _ZH_PUNCTUATION.items():
        text = text.replace(old, new)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=1)
def _zh_tools() -> tuple[object, object, Callable[[str], str]]:
    import jieba
    from misaki.zh import ZHG2P
    from pypinyin import Style, lazy_pinyin

    jieba.setLogLevel(60)

    def pinyin(run: str) -> list[str]:
        return lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)

    return jieba, pinyin, ZHG2P.py2ipa


def _syllable_ipa(py2ipa: Callable[[str], str], syllable: str) -> str:
    try:
        return py2ipa(syllable).replace("\u032f", "")
    except (ValueError, KeyError, IndexError):
        return ""  # a character pypinyin has no reading for: skipped, as misaki skips it


def mandarin(text: str, english: EnglishPhonemes) -> list[Piece]:
    """Pieces of a Mandarin sentence: one per jieba word, Latin word, or run of punctuation."""
    jieba, pinyin, py2ipa = _zh_tools()
    pieces: list[Piece] = []
    for match in _ZH_PIECES.finditer(text):
        han, latin, other = match.groups()
        if han:
            syllables = pinyin(han)  # type: ignore[operator]
            if len(syllables) != len(han):
                syllables = [s for word in jieba.lcut(han) for s in pinyin(word)]  # type: ignore[attr-defined,operator]
            cursor = 0
            for word in jieba.lcut(han, cut_all=False):  # type: ignore[attr-defined]
                ipa = "".join(_syllable_ipa(py2ipa, s) for s in syllables[cursor:cursor + len(word)])
                pieces.append(Piece(match.start() + cursor, ipa, True))
                cursor += len(word)
        elif latin:
            pieces.append(Piece(match.start(), kokoro_english(english(latin)), True))
        else:
            pieces.append(Piece(match.start(), _punctuation(other), False))
    return pieces


def english(text: str, phonemes: EnglishPhonemes) -> list[Piece]:
    """Pieces of an English sentence: one per word, space or run of punctuation."""
    pieces: list[Piece] = []
    for match in _EN_PIECES.finditer(text):
        word, space, other = match.groups()
        if word:
            pieces.append(Piece(match.start(), kokoro_english(phonemes(word)), True))
        elif space:
            pieces.append(Piece(match.start(), " ", False))
        else:
            pieces.append(Piece(match.start(), other.replace("’", "").replace("'", ""), False))
    return pieces


def tokenize(pieces: list[Piece], vocab: dict[str, int]) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids of the phoneme string the model reads (words one space apart, punctuation kept),
    and (char_index, first token) of every word that produced at least one token."""
    text, starts = "", []
    for piece in pieces:
        phonemes = piece.phonemes if piece.is_word else re.sub(r"\s+", " ", piece.phonemes)
        if not text or text.endswith(" "):
            phonemes = phonemes.lstrip()
        elif piece.is_word and not text.endswith(("“", "(")):
            phonemes = " " + phonemes
        if piece.is_word:
            starts.append((piece.char_index, len(text) + len(phonemes) - len(phonemes.lstrip())))
        text += phonemes
    text = text.rstrip()
    ids, position = [], {}
    for index, char in enumerate(text):
        position[index] = len(ids)
        if char in vocab:
            ids.append(vocab[char])
    position[len(text)] = len(ids)
    words = [(char, position[min(start, len(text))]) for char, start in starts]
    return ids, [(char, token) for char, token in words if token < len(ids)]
