"""The eleven camera moves of the seed storyboard contract, with English aliases.

The seed's LLM prompt requires `camera` to be exactly one of eleven Chinese labels; its clients (Go
backend, apps) map them 1:1, so the Chinese label is the stored value. English names and common film
terms are accepted on input so hand-written projects and English LLM output still validate.
"""

from __future__ import annotations

import re
from enum import StrEnum


class CameraMove(StrEnum):
    CRANE = "垂直升降拍摄"
    TRUCK = "水平横移拍摄"
    PUSH_IN = "镜头推进"
    PULL_BACK = "镜头后退"
    TILT = "仰视或俯视调整"
    ORBIT_LEFT = "绕轴横向左旋转"
    ORBIT_RIGHT = "绕轴横向右旋转"
    CIRCLE = "围绕主体拍摄"
    ORBIT_360 = "全方位环绕"
    TRACK = "锁定主体移动"
    LOCKED = "固定机位"

    @property
    def english(self) -> str:
        return _ENGLISH[self]

    def label(self, language: str) -> str:
        """The move as a project in `language` shows it: the Chinese label for "zh", else English.
        (The stored value is always the Chinese label, whatever the project's language.)"""
        return self.value if language == "zh" else self.english


_ENGLISH: dict[CameraMove, str] = {
    CameraMove.CRANE: "vertical crane",
    CameraMove.TRUCK: "horizontal truck",
    CameraMove.PUSH_IN: "push in",
    CameraMove.PULL_BACK: "pull back",
    CameraMove.TILT: "tilt up/down",
    CameraMove.ORBIT_LEFT: "orbit left",
    CameraMove.ORBIT_RIGHT: "orbit right",
    CameraMove.CIRCLE: "circle subject",
    CameraMove.ORBIT_360: "full 360 orbit",
    CameraMove.TRACK: "track subject",
    CameraMove.LOCKED: "locked-off",
}

_ALIASES: dict[str, CameraMove] = {
    "crane": CameraMove.CRANE, "vertical crane": CameraMove.CRANE, "pedestal": CameraMove.CRANE,
    "crane up": CameraMove.CRANE, "crane down": CameraMove.CRANE,
    "truck": CameraMove.TRUCK, "horizontal truck": CameraMove.TRUCK, "pan": CameraMove.TRUCK,
    "dolly": CameraMove.TRUCK, "slide": CameraMove.TRUCK, "lateral": CameraMove.TRUCK,
    "push in": CameraMove.PUSH_IN, "dolly in": CameraMove.PUSH_IN, "zoom in": CameraMove.PUSH_IN,
    "push": CameraMove.PUSH_IN,
    "pull back": CameraMove.PULL_BACK, "dolly out": CameraMove.PULL_BACK, "zoom out": CameraMove.PULL_BACK,
    "pull out": CameraMove.PULL_BACK, "pull": CameraMove.PULL_BACK,
    "tilt": CameraMove.TILT, "tilt up/down": CameraMove.TILT, "tilt up": CameraMove.TILT,
    "tilt down": CameraMove.TILT, "low angle": CameraMove.TILT, "high angle": CameraMove.TILT,
    "orbit left": CameraMove.ORBIT_LEFT, "rotate left": CameraMove.ORBIT_LEFT,
    "orbit right": CameraMove.ORBIT_RIGHT, "rotate right": CameraMove.ORBIT_RIGHT,
    "circle subject": CameraMove.CIRCLE, "circle": CameraMove.CIRCLE, "arc": CameraMove.CIRCLE,
    "orbit": CameraMove.CIRCLE,
    "full 360 orbit": CameraMove.ORBIT_360, "360": CameraMove.ORBIT_360, "360 orbit": CameraMove.ORBIT_360,
    "track subject": CameraMove.TRACK, "track": CameraMove.TRACK, "tracking": CameraMove.TRACK,
    "follow": CameraMove.TRACK,
    "locked-off": CameraMove.LOCKED, "locked off": CameraMove.LOCKED, "locked": CameraMove.LOCKED,
    "static": CameraMove.LOCKED, "fixed": CameraMove.LOCKED, "still": CameraMove.LOCKED,
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


_ALIASES.update({_norm(move.name): move for move in CameraMove})


def parse_camera(value: object) -> CameraMove:
    """Map a Chinese label, enum name or English alias to a `CameraMove`.

    Raises:
        ValueError: naming the accepted values, when nothing matches.
    """
    if isinstance(value, CameraMove):
        return value
    text = str(value).strip()
    for move in CameraMove:
        if text == move.value:
            return move
    key = _norm(text)
    if key in _ALIASES:
        return _ALIASES[key]
    if key.replace("-", " ") in _ALIASES:
        return _ALIASES[key.replace("-", " ")]
    # LLMs sometimes wrap the label: "镜头推进（慢速）" — accept a unique contained label.
    contained = [move for move in CameraMove if move.value in text]
    if len(contained) == 1:
        return contained[0]
    choices = ", ".join(f"{m.value} ({m.english})" for m in CameraMove)
    raise ValueError(f"unknown camera move {text!r}; use one of: {choices}")
