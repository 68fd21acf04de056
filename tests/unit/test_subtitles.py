"""Subtitle chunking, CJK line breaking and timing."""

from __future__ import annotations

from pathlib import Path

from s2v_tui.media.subtitles import (
    WordTiming,
    build_cues,
    chunk_text,
    layout_for,
    read_srt,
    units,
    wrap,
    write_srt,
)

LAYOUT = layout_for(720, 1280)
ZH = "从前有座山，山里有座庙。庙里有个老和尚，他每天晚上都会提着一盏红灯笼，沿着长长的石阶走到山下的小镇去，给孩子们讲故事。"


def test_chunks_keep_every_character_and_fit_two_lines() -> None:
    chunks = chunk_text(ZH, LAYOUT.max_units)
    assert "".join(chunks) == ZH
    assert all(units(c.strip()) <= LAYOUT.max_units * 2 for c in chunks)


def test_lines_never_start_with_closing_punctuation_or_split_words() -> None:
    for text in (ZH, "Once upon a time, in a small fishing village by the grey northern sea, there lived a keeper."):
        for chunk in chunk_text(text, 20):
            lines = wrap(chunk, 20)
            assert len(lines) <= 2
            assert all(line[0] not in "，。！？、" for line in lines)
    assert wrap("Hello wonderful world of subtitles", 18) == ["Hello wonderful", "world of subtitles"]


def test_cues_follow_word_timings_and_never_outlive_the_shot() -> None:
    text = "第一句话。第二句话很长很长。"
    timings = [WordTiming(0, 0.0), WordTiming(5, 1.5), WordTiming(9, 2.4)]
    cues = build_cues(text, speech_seconds=3.0, shot_seconds=3.2, timings=timings, layout=LAYOUT)
    assert [c.text for c in cues] == ["第一句话", "第二句话很长很长"]
    assert cues[0].start == 0.0 and cues[1].start == 1.5
    assert cues[-1].end <= 3.2 - 0.02 + 1e-9
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))


def test_cues_without_timings_spread_over_the_speech() -> None:
    cues = build_cues(ZH, speech_seconds=10.0, shot_seconds=10.5, timings=None, layout=LAYOUT)
    assert len(cues) >= 2 and cues[0].start == 0.0 and cues[-1].end <= 10.5
    assert build_cues("  ", speech_seconds=1, shot_seconds=1, timings=None, layout=LAYOUT) == []


def test_srt_round_trip(tmp_path: Path) -> None:
    cues = build_cues(ZH, speech_seconds=10.0, shot_seconds=10.5, timings=None, layout=LAYOUT)
    write_srt(cues, tmp_path / "a.srt")
    again = read_srt(tmp_path / "a.srt")
    assert [round(c.start, 2) for c in again] == [round(c.start, 2) for c in cues]
    assert again[0].text.replace("\n", "") == cues[0].text.replace("\n", "")
