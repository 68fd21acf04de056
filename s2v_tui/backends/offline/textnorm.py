"""Make narration speakable for espeak-ng's Mandarin voice, keeping a map back to the original text.

espeak's `cmn` voice reads Arabic numerals poorly (offline-stack.md §3), so digits become Chinese
numerals before synthesis: years digit by digit (2026年 → 二零二六年), other integers by place value
(128 → 一百二十八), decimals with 点. Subtitles show the original text, so every spoken character
maps back to the original character it came from, and word timings stay aligned with what is shown.
"""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _digits(text: str) -> str:
    return "".join(DIGITS[int(d)] for d in text)


def _integer(value: int) -> str:
    if value == 0:
        return DIGITS[0]
    if value >= 10**8:
        return _digits(str(value))
    units = ["", "十", "百", "千"]

    def below_10k(n: int) -> str:
        out, zero = "", False
        for power in range(3, -1, -1):
            digit = n // 10**power % 10
            if digit:
                if zero and out:
                    out += DIGITS[0]
                out += DIGITS[digit] + units[power]
                zero = False
            elif out:
                zero = True
        return out

    high, low = divmod(value, 10**4)
    text = (below_10k(high) + "万" + (DIGITS[0] if 0 < low < 1000 else "") + below_10k(low)) if high else below_10k(low)
    return text[1:] if text.startswith("一十") else text


def _say(number: str, following: str) -> str:
    if "." in number:
        whole, frac = number.split(".")
        return _integer(int(whole)) + "点" + _digits(frac)
    if following == "年" and len(number) >= 3:
        return _digits(number)
    return _integer(int(number))


def speakable_zh(text: str) -> tuple[str, list[int]]:
    """(spoken text, index map spoken→original) for Mandarin synthesis."""
    spoken: list[str] = []
    index_map: list[int] = []
    cursor = 0
    for match in _NUMBER.finditer(text):
        for i in range(cursor, match.start()):
            spoken.append(text[i])
            index_map.append(i)
        words = _say(match.group(0), text[match.end(): match.end() + 1])
        spoken.extend(words)
        index_map.extend([match.start()] * len(words))
        cursor = match.end()
    for i in range(cursor, len(text)):
        spoken.append(text[i])
        index_map.append(i)
    return "".join(spoken), index_map
