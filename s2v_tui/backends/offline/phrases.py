"""Whole words and phrases for the offline storyboard and captions (Chinese with jieba, English by rule).

A shot's subject labels its picture (caption, prompt), so it must read as a phrase: a Chinese subject
is cut where a word ends (jieba's segmentation, not a character count) and not after a particle or a
measure word (…一位做灯 → a whole clause, or 海边的小镇上); an English one is a named character, a
whole short clause, or a clause cut before a preposition or conjunction — never after one
("She lit the old lamp by" → "She lit the old lamp").
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

ZH_WHOLE_CLAUSE = 16
"""A Chinese clause up to this many characters is the subject as it is."""
ZH_CUT = 12
"""A longer clause is cut at the last word boundary within this many characters."""
EN_WHOLE_CLAUSE = 8
EN_LONGEST = 12
"""Words: a clause up to 8 words is kept whole; else cut at a phrase boundary within 8, or else 12."""

_ZH_FUNCTION = ("u", "p", "c", "m", "q", "d", "e", "y", "o", "x", "w")
"""jieba POS flags that never end a subject: particles (的 着), prepositions, conjunctions, numerals and
measure words (一位 一盏), adverbs, interjections, punctuation."""
_ZH_NOUNLIKE = ("n", "s", "f", "t", "r", "vn", "an", "nr", "ns", "nt", "nz")


def _words(text: str) -> list[str]:
    return text.split()


EN_PREPOSITIONS = frozenset(_words(
    "about above across after against along among around at before behind below beneath beside between beyond by "
    "down during except for from in inside into like near of off on onto out outside over past since through "
    "throughout till to toward towards under until up upon with within without"))
EN_CONJUNCTIONS = frozenset(_words(
    "and but or nor so yet while because although though if unless whereas when where who whom whose which that as "
    "than then"))
EN_DETERMINERS = frozenset(_words("a an the this these those my your his her its our their every each some any no"))
EN_AUXILIARIES = frozenset(_words(
    "is am are was were be been being has have had do does did will would shall should can could may might must "
    "not"))
EN_PARTICLES = frozenset(_words("up down out off away back"))
"""Prepositions that also end phrasal verbs ("the dog stood up"): a phrase may end on them."""
EN_SUBJECT_PRONOUNS = frozenset(_words("i he she we they who"))
EN_DANGLING = ((EN_PREPOSITIONS - EN_PARTICLES) | EN_CONJUNCTIONS | EN_DETERMINERS | EN_AUXILIARIES
               | EN_SUBJECT_PRONOUNS)
"""Words a phrase never ends on: it would stop mid-clause."""
_EN_LEADING = frozenset(_words("and but or so yet then who which that"))
"""Words that make a clause a continuation ("and who had promised…"): dropped from its start."""
_EN_NUMBERS = frozenset(_words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand"))
_EN_SENTENCE_START = EN_DANGLING | frozenset(_words("one once she he they it we there"))
"""Capitalised mid-sentence only after a colon or in a title: never taken for a name."""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@functools.cache
def _jieba():  # type: ignore[no-untyped-def]
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # it logs the dictionary build at INFO on first use
    return jieba.posseg


def zh_words(text: str) -> list[tuple[str, str]]:
    """(word, POS flag) pairs of a Chinese text, from jieba; they concatenate back to the text."""
    return [(pair.word, pair.flag) for pair in _jieba().cut(text)]


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def _zh_ends_well(flag: str) -> bool:
    return not flag.startswith(_ZH_FUNCTION)


def _zh_prefix(words: list[tuple[str, str]], fits: Callable[[str], bool]) -> str:
    """The longest word-boundary prefix that `fits` and ends on a noun-like word (else on any content
    word; else the longest that fits; else the first word)."""
    prefixes: list[tuple[str, str]] = []  # (prefix, flag of its last word)
    text = ""
    for word, flag in words:
        if not fits(text + word):
            break
        text += word
        prefixes.append((text, flag))
    for accept in (lambda f: f.startswith(_ZH_NOUNLIKE), _zh_ends_well):
        for prefix, flag in reversed(prefixes):
            if accept(flag) and len(prefix) >= 2:
                return prefix
    return prefixes[-1][0] if prefixes else words[0][0]


def zh_phrase(clause: str, *, whole: int = ZH_WHOLE_CLAUSE, cut: int = ZH_CUT) -> str:
    """The clause itself when short enough, else its best word-boundary prefix within `cut` characters."""
    clause = clause.strip()
    if len(clause) <= whole:
        return clause
    return _zh_prefix(zh_words(clause), lambda text: len(text) <= cut)


def _bare(word: str) -> str:
    return word.strip("\"'“”‘’()[]").lower()


def en_trim(words: list[str]) -> list[str]:
    """Drop words a phrase must not end on (prepositions, articles, conjunctions, auxiliaries)."""
    while len(words) > 1 and _bare(words[-1]) in EN_DANGLING:
        words = words[:-1]
    return words


def _boundary(words: list[str], i: int) -> bool:
    """May a phrase end before words[i]? Before a preposition or conjunction, not inside a number."""
    word, before = _bare(words[i]), _bare(words[i - 1])
    if word == "and" and before in _EN_NUMBERS:
        return False  # "one hundred and twelve steps"
    starts_phrase = (word in EN_PREPOSITIONS and word not in EN_PARTICLES) or word in EN_CONJUNCTIONS
    return starts_phrase and before not in EN_DANGLING


def en_phrase(clause: str, *, whole: int = EN_WHOLE_CLAUSE, longest: int = EN_LONGEST) -> str:
    """A whole short clause, or the clause cut at a phrase boundary; capitalised, no trailing marks."""
    words = clause.strip().strip(",;:").split()
    while len(words) > 1 and _bare(words[0]) in _EN_LEADING:
        words = words[1:]
    if not words:
        return ""
    if len(words) > whole:
        for limit in (whole, longest):
            cuts = [i for i in range(2, min(limit, len(words) - 1) + 1) if _boundary(words, i)]
            if cuts:
                words = words[:max(cuts)]
                break
        else:
            words = words[:whole]
    words = en_trim(words)
    phrase = " ".join(words).rstrip(",;:")
    return phrase[:1].upper() + phrase[1:]


def en_names(text: str) -> list[str]:
    """Capitalised words that appear inside a sentence (not only at its start): the story's names."""
    names: list[str] = []
    for match in re.finditer(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\b", text):  # "Aunt Rosa" is one name
        before = text[:match.start()].rstrip()
        if not before or before[-1] in ".!?\"“”:;":
            continue  # a sentence or quotation starts here: capitalised anyway
        name = match.group(0)
        if name.split()[0].lower() not in _EN_SENTENCE_START and name not in names:
            names.append(name)
    return names


def fit_words(text: str, fits: Callable[[str], bool]) -> str:
    """`text` when it `fits`, else its best whole-word prefix (jieba words for Chinese; never ending on a
    particle or a preposition) that fits with "…" after it, plus the "…"."""
    if fits(text):
        return text
    if has_cjk(text):
        return _zh_prefix(zh_words(text), lambda t: fits(t.rstrip(" ，,、；;：:") + "…")).rstrip(" ，,、；;：:") + "…"
    kept: list[str] = []
    for word in text.split():
        if not fits(" ".join([*kept, word]) + "…"):
            break
        kept.append(word)
    return " ".join(en_trim(kept) or text.split()[:1]).rstrip(",;:") + "…"
