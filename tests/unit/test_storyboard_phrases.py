"""The offline storyboard writes whole words and phrases: subjects, details and the prompts built from them.

Checked over the bundled stories and a handful of others (tests/data/stories): Chinese and English,
dialogue, numbers, Markdown, run-on sentences that force cuts inside sentences, stories with and
without names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s2v_tui.backends.base import StoryboardRequest
from s2v_tui.backends.offline.phrases import EN_DANGLING, en_phrase, zh_phrase, zh_words
from s2v_tui.backends.offline.splitter import clean_script, split_script
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Shot
from s2v_tui.engine.recipes import image_prompt, motion_prompt

ROOT = Path(__file__).parents[2]
STORIES = sorted((ROOT / "examples").glob("*.txt")) + sorted((ROOT / "tests" / "data" / "stories").glob("*.txt"))
STRAY = re.compile(r"[.,;:。，、；：]\s*[.,;:。，、；：]")
"""Two marks in a row (`.,` `。，` `,.`): a phrase glued to a sentence that had already ended."""
ZH_FUNCTION = ("u", "p", "c", "m", "q", "d")
"""jieba POS: particles (的 着), prepositions, conjunctions, numerals and measure words (一位), adverbs."""


def _language(path: Path) -> str:
    return "zh" if ".zh." in path.name else "en"


def _shots(path: Path, style: str = "") -> tuple[Project, list[Shot]]:
    language = _language(path)
    script = path.read_text(encoding="utf-8")
    drafts = split_script(StoryboardRequest(script=script, style=style, language=language))  # type: ignore[arg-type]
    project = Project(id="p", title="t", script=script, language=language, style=style)  # type: ignore[arg-type]
    shots = [Shot(id=f"shot_{i:02d}", sequence=i, **d.model_dump()) for i, d in enumerate(drafts, start=1)]
    return project, shots


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[，。！？；,.!?;:：“”\"]", text) if c.strip()]


def _zh_subject_is_whole_words(subject: str, narration: str) -> bool:
    for clause in _clauses(narration):
        at = clause.find(subject)
        if at < 0:
            continue
        if subject == clause:
            return True  # a whole clause
        words = zh_words(clause)
        bounds = {0}
        for word, _ in words:
            bounds.add(max(bounds) + len(word))
        ends = {end: flag for end, (_, flag) in zip(sorted(bounds)[1:], words, strict=True)}
        if at in bounds and at + len(subject) in ends and not ends[at + len(subject)].startswith(ZH_FUNCTION):
            return True
    return False


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
@pytest.mark.parametrize("style", ["", "watercolor"])
def test_subjects_details_and_prompts_are_whole_phrases(path: Path, style: str) -> None:
    project, shots = _shots(path, style)
    assert shots
    for shot in shots:
        texts = {"detail": shot.detail, "image prompt": image_prompt(project, shot),
                 "motion prompt": motion_prompt(project, shot)}
        for what, text in texts.items():
            assert not STRAY.search(text), f"{shot.id} {what} has stray punctuation: {text!r}"
        if project.language == "zh":
            assert _zh_subject_is_whole_words(shot.subject, shot.narration), \
                f"{shot.id} subject {shot.subject!r} is cut mid-word in {shot.narration!r}"
            continue
        words = shot.subject.split()
        assert words and shot.subject[0].isupper(), f"{shot.id} subject {shot.subject!r}"
        assert words[-1].lower() not in EN_DANGLING, f"{shot.id} subject stops mid-clause: {shot.subject!r}"
        assert shot.subject.lower() in shot.narration.lower() or words[0] in shot.narration, shot.subject
        for sentence in re.split(r"(?<=[.!?])\s+", shot.detail):
            first = next(ch for ch in sentence if ch.isalnum())
            assert first.isupper() or first.isdigit(), f"{shot.id} detail has a fragment: {sentence!r}"


def test_a_sentence_cut_into_shots_is_described_whole() -> None:
    """A shot that narrates part of a run-on sentence still gets whole sentences as its description."""
    _, shots = _shots(ROOT / "tests" / "data" / "stories" / "river.en.txt")
    assert any(not s.narration.rstrip().endswith((".", "!", "?")) for s in shots)  # the story forces cuts
    for shot in shots:
        assert shot.detail.endswith((".", "!", "?")), shot.detail


@pytest.mark.parametrize(("clause", "subject"), [
    ("海边的小镇上住着一位做灯笼的老人和他的小孙女", "海边的小镇"),
    ("老人没有说话", "老人没有说话"),
])
def test_chinese_subject_prefers_a_whole_clause_then_a_word_boundary(clause: str, subject: str) -> None:
    assert zh_phrase(clause) == subject


@pytest.mark.parametrize(("clause", "subject"), [
    ("She lit the old lamp by hand and turned it through the night while the waves crashed", "She lit the old lamp by hand"),
    ("she walked down to the boat", "She walked down to the boat"),
    ("Every evening she climbed one hundred and twelve steps to light the great lamp",
     "Every evening she climbed one hundred and twelve steps"),
])
def test_english_subject_is_a_whole_clause_or_ends_before_a_preposition(clause: str, subject: str) -> None:
    assert en_phrase(clause) == subject


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_every_word_and_quotation_mark_is_narrated(path: Path) -> None:
    """Closing quotes stay with their sentence (they were dropped), and a `"…?" he asked` stays one sentence."""
    script = path.read_text(encoding="utf-8")
    drafts = split_script(StoryboardRequest(script=script, style="", language=_language(path)))  # type: ignore[arg-type]
    assert "".join(d.narration for d in drafts).replace(" ", "") == clean_script(script).replace("\n", "").replace(" ", "")
    assert not any(d.narration.lstrip()[:1].islower() for d in drafts if _language(path) == "en"
                   and d.narration.lstrip().startswith("he asked"))
