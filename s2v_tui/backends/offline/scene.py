"""Keyword tables shared by the offline storyboard and the offline painter (Chinese and English).

`scene_tags(text)` reads setting, time of day, weather and mood out of a shot's text; the splitter
turns tags into a visual `detail`, the painter turns them into scenery. Deliberately simple and
deterministic: no model, same text → same picture.
"""

from __future__ import annotations

from s2v_tui.domain.camera import CameraMove

SCENERY: dict[str, tuple[str, ...]] = {
    "night": ("夜", "晚上", "月", "星", "黑暗", "深夜", "午夜", "night", "moon", "star", "dark", "midnight", "evening"),
    "dusk": ("黄昏", "傍晚", "夕阳", "日落", "晚霞", "dusk", "sunset", "twilight"),
    "dawn": ("清晨", "黎明", "早晨", "日出", "朝阳", "dawn", "sunrise", "morning"),
    "sea": ("海", "浪", "港", "岸", "船", "渔", "sea", "ocean", "wave", "harbor", "harbour", "shore", "boat", "ship",
            "fishing", "beach"),
    "water": ("河", "湖", "江", "溪", "水", "river", "lake", "stream", "pond", "water"),
    "forest": ("森林", "树", "林", "竹", "草", "花", "forest", "tree", "wood", "bamboo", "grass", "flower", "garden"),
    "mountain": ("山", "峰", "崖", "石阶", "mountain", "hill", "peak", "cliff", "valley"),
    "city": ("城", "街", "镇", "楼", "店", "市", "巷", "灯火", "city", "street", "town", "village", "building", "shop",
             "market", "alley"),
    "indoor": ("屋里", "房间", "室内", "厨房", "窗前", "桌", "room", "house", "kitchen", "window", "table",
               "home", "temple", "inside"),
    "snow": ("雪", "冬", "冰", "寒", "snow", "winter", "ice", "frost", "cold"),
    "rain": ("雨", "雷", "风暴", "rain", "storm", "thunder"),
    "lantern": ("灯笼", "灯", "烛", "火", "lantern", "lamp", "candle", "fire", "light"),
    "sky": ("天空", "云", "鸟", "飞", "sky", "cloud", "bird", "fly", "flew"),
    "desert": ("沙漠", "沙", "desert", "sand", "dune"),
}

MOODS: dict[str, tuple[str, ...]] = {
    "tense": ("紧张", "危险", "害怕", "恐惧", "追", "逃", "突然", "tense", "danger", "afraid", "fear", "chase",
              "escape", "suddenly", "storm", "thunder", "crash"),
    "sad": ("哭", "泪", "悲", "难过", "孤独", "离开", "失去", "cry", "tear", "sad", "lonely", "alone", "lost", "left"),
    "excited": ("欢", "笑", "兴奋", "惊喜", "庆祝", "跳", "joy", "laugh", "excited", "surprise", "celebrate", "jump"),
    "warm": ("温暖", "爱", "拥抱", "微笑", "家人", "朋友", "warm", "love", "hug", "smile", "family", "friend", "kind"),
}

TONE_LABELS = {
    "zh": {"tense": "紧张", "sad": "低沉", "excited": "兴奋", "warm": "温暖", "calm": "平静"},
    "en": {"tense": "tense", "sad": "somber", "excited": "excited", "warm": "warm", "calm": "calm"},
}

CAMERA_CUES: list[tuple[tuple[str, ...], CameraMove]] = [
    (("抬头", "仰望", "望向天空", "俯瞰", "低头", "look up", "looked up", "look down", "looked down", "gaze"),
     CameraMove.TILT),
    (("升", "飞起", "爬上", "登上", "落下", "坠", "climb", "rise", "rose", "fall", "fell", "descend"), CameraMove.CRANE),
    (("跑", "走", "追", "奔", "行", "run", "ran", "walk", "chase", "follow", "march", "ride"), CameraMove.TRACK),
    (("环顾", "四周", "周围", "包围", "around", "surround"), CameraMove.CIRCLE),
    (("说", "问", "眼睛", "脸", "心", "said", "asked", "whisper", "eyes", "face", "heart"), CameraMove.PUSH_IN),
    (("远处", "远方", "离开", "告别", "distance", "far away", "farewell", "goodbye", "left"), CameraMove.PULL_BACK),
]

CAMERA_CYCLE = [CameraMove.PUSH_IN, CameraMove.TRUCK, CameraMove.ORBIT_RIGHT, CameraMove.TILT,
                CameraMove.ORBIT_LEFT, CameraMove.CRANE, CameraMove.LOCKED]


def _contains(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


def scene_tags(text: str) -> set[str]:
    return {tag for tag, words in SCENERY.items() if _contains(text, words)}


def mood_of(text: str) -> str:
    for mood, words in MOODS.items():
        if _contains(text, words):
            return mood
    return "calm"


def camera_for(text: str, *, index: int, count: int, previous: CameraMove | None) -> CameraMove:
    """A sensible move: establish first, pull back at the end, else follow the action words."""
    if index == 0:
        return CameraMove.PUSH_IN
    if index == count - 1 and count > 1:
        return CameraMove.PULL_BACK
    for words, move in CAMERA_CUES:
        if _contains(text, words) and move != previous:
            return move
    move = CAMERA_CYCLE[index % len(CAMERA_CYCLE)]
    return CAMERA_CYCLE[(index + 1) % len(CAMERA_CYCLE)] if move == previous else move
