"""The offline storyboard splitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2v_tui.backends.base import StoryboardRequest
from s2v_tui.backends.offline.splitter import clean_script, partition, split_script
from s2v_tui.domain.errors import BadInputError
from s2v_tui.media.subtitles import units

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(("name", "language"), [("lantern.zh.txt", "zh"), ("lighthouse.en.txt", "en")])
def test_typical_stories_give_six_to_ten_shots_covering_all_text(name: str, language: str) -> None:
    script = (EXAMPLES / name).read_text(encoding="utf-8")
    drafts = split_script(StoryboardRequest(script=script, style="水彩", language=language))  # type: ignore[arg-type]
    assert 6 <= len(drafts) <= 10
    spoken = "".join(d.narration for d in drafts).replace(" ", "")
    prose = clean_script(script).replace("\n", "").replace(" ", "")
    assert spoken == prose  # nothing dropped, nothing invented
    assert all(d.subject and d.detail and d.tone for d in drafts)
    assert drafts[0].camera != drafts[1].camera


def test_markdown_scaffolding_never_becomes_narration() -> None:
    script = "# Title\n\n---\n\n**第一句。** 第二句[链接](http://x)。\n\n***\n\n- 第三句。\n\n```\ncode\n```\n## 小节\n第四句！"
    drafts = split_script(StoryboardRequest(script=script, style="", language="zh", min_shots=1))
    text = "".join(d.narration for d in drafts)
    assert text == "第一句。第二句链接。第三句。第四句！"
    assert not any(mark in text for mark in ("#", "---", "*", "`", "http"))


def test_a_tiny_story_gives_fewer_shots() -> None:
    drafts = split_script(StoryboardRequest(script="夜深了。老人点亮灯笼。", style="", language="zh"))
    assert len(drafts) == 2


def test_a_long_story_gets_more_shots_not_unreadable_ones() -> None:
    script = "。".join(f"第{i}段故事里有很多很多的细节需要慢慢讲述给大家听" for i in range(60)) + "。"
    request = StoryboardRequest(script=script, style="", language="zh")
    drafts = split_script(request)
    assert len(drafts) > 10
    assert max(units(d.narration) for d in drafts) <= request.max_narration_units


def test_headings_only_is_a_clear_error() -> None:
    with pytest.raises(BadInputError, match="no sentences"):
        split_script(StoryboardRequest(script="# Title\n\n---\n", style="", language="en"))


def test_partition_balances_contiguous_runs() -> None:
    assert partition([5, 5, 5, 5], 2) == [2, 2]
    assert sum(partition([1, 9, 1, 1, 9, 1], 3)) == 6
    assert partition([3], 4) == [1]
