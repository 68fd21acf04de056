from s2v_tui.backends.offline.textnorm import speakable_zh


def test_numbers_become_chinese_and_map_back_to_the_original() -> None:
    spoken, index_map = speakable_zh("2026年来了128人，走了3.5公里")
    assert spoken == "二零二六年来了一百二十八人，走了三点五公里"
    assert len(index_map) == len(spoken)
    assert index_map[spoken.index("年")] == 4  # "年" is character 4 of the original
    assert speakable_zh("10005")[0] == "一万零五" and speakable_zh("10")[0] == "十"
