"""The offline storyboard: a deterministic, rule-based splitter for Chinese and English scripts.

Markdown scaffolding (headings, rules, list markers, emphasis, links, code fences, HTML) is removed
before anything is measured — a `---` or `# Title` in a script must never become narration or break
timing (MoneyPrinterTurbo #954). The text is cut into sentences (clauses when sentences are long),
then partitioned into contiguous shots of balanced length: 6–10 for a typical 150–400 character or
word story, fewer when there are not enough sentences, more only when shots would get too long to read.
"""

from __future__ import annotations

import math
import re

from s2v_tui.backends.base import BackendInfo, ShotDraft, StageContext, StoryboardBackend, StoryboardRequest
from s2v_tui.backends.offline.phrases import en_names, en_phrase, zh_phrase
from s2v_tui.backends.offline.scene import TONE_LABELS, camera_for, mood_of, scene_tags
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import BadInputError
from s2v_tui.media.subtitles import units

TARGET_SHARE = 0.6
"""Preferred narration length per shot, as a share of the readable maximum (≈7 s of speech)."""

_SENTENCE_END = re.compile(r"[。！？；;…]+[”’」』\"')）]*|[.!?]+[\"'”’)]*(?=\s+[^a-z\s]|\s*$)")
"""A sentence ends after its mark and any closing quotes (kept with it); an English `?"` or `!"` followed
by a lowercase word (`"What is it?" he asked`) does not end it."""
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")
_LEADING_FILLER = re.compile(
    r"^((然后|于是|这时|此时|后来|接着|最后|从前|但是|可是|and|but|then|so|finally|once upon a time)([，,\s]+|$))+", re.I)

SCENE_WORDS = {
    "zh": {"night": "夜色深沉，月光清冷", "dusk": "黄昏的暖橙色逆光", "dawn": "清晨柔和的金色晨光",
           "sea": "辽阔的海面与起伏的波浪", "water": "波光粼粼的水面", "forest": "层叠的树林",
           "mountain": "远山层峦叠嶂", "city": "小镇街道与错落的房屋", "indoor": "室内暖光",
           "snow": "飘落的雪花", "rain": "细密的雨丝", "lantern": "灯笼的暖光点点", "sky": "开阔的天空与流云",
           "desert": "起伏的沙丘"},
    "en": {"night": "deep night, cool moonlight", "dusk": "warm orange backlight at dusk",
           "dawn": "soft golden morning light", "sea": "a wide sea with rolling waves", "water": "glittering water",
           "forest": "layered trees", "mountain": "distant layered mountains",
           "city": "a small town street with scattered houses", "indoor": "warm indoor light",
           "snow": "falling snow", "rain": "fine rain", "lantern": "dots of warm lantern light",
           "sky": "an open sky with drifting clouds", "desert": "rolling dunes"},
}


def clean_script(script: str) -> str:
    """Remove Markdown/HTML scaffolding, keep the prose (paragraph breaks become sentence breaks)."""
    text = re.sub(r"```.*?```", "\n", script, flags=re.S)
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or re.fullmatch(r"([-*_=~])(\s*\1){2,}", line) or line.startswith("#"):
            kept.append("")
            continue
        line = re.sub(r"^(>\s*)+", "", line)
        line = re.sub(r"^([-*+•]|\d+[.)、])\s+", "", line)
        line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"<[^>]+>", "", line)
        line = re.sub(r"(\*\*|__|\*|`|~~)", "", line)
        kept.append(line.strip())
    paragraphs = re.split(r"\n\s*\n", "\n".join(kept))
    return "\n".join(" ".join(p.split("\n")).strip() for p in paragraphs if p.strip())


def sentences_of(text: str) -> list[str]:
    pieces: list[str] = []
    for paragraph in text.split("\n"):
        start = 0
        for end in _SENTENCE_END.finditer(paragraph):
            pieces.append(paragraph[start:end.end()])
            start = end.end()
        pieces.append(paragraph[start:])
    return [p.strip() for p in pieces if p.strip()]


def _split_clauses(sentence: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE_END.split(sentence) if p.strip()]
    return parts if len(parts) > 1 else [sentence]


def partition(weights: list[int], groups: int) -> list[int]:
    """Split indices into `groups` contiguous runs minimising the heaviest run; returns run sizes."""
    n = len(weights)
    groups = max(1, min(groups, n))
    prefix = [0]
    for w in weights:
        prefix.append(prefix[-1] + w)
    inf = math.inf
    best = [[inf] * (n + 1) for _ in range(groups + 1)]
    cut = [[0] * (n + 1) for _ in range(groups + 1)]
    best[0][0] = 0
    for g in range(1, groups + 1):
        for i in range(g, n + 1):
            for j in range(g - 1, i):
                cost = max(best[g - 1][j], prefix[i] - prefix[j])
                if cost < best[g][i]:
                    best[g][i], cut[g][i] = cost, j
    sizes, i = [], n
    for g in range(groups, 0, -1):
        j = cut[g][i]
        sizes.append(i - j)
        i = j
    return sizes[::-1]


def pack(weights: list[int], limit: int) -> list[int]:
    """Greedy contiguous runs of at most `limit` (a single heavier piece stands alone); run sizes."""
    sizes, total, count = [], 0, 0
    for weight in weights:
        if count and total + weight > limit:
            sizes.append(count)
            total = count = 0
        total += weight
        count += 1
    if count:
        sizes.append(count)
    return sizes


def plan_shot_count(total_units: int, pieces: int, request: StoryboardRequest) -> int:
    target = request.max_narration_units * TARGET_SHARE
    wanted = max(request.min_shots, min(request.max_shots, math.ceil(total_units / target)))
    if total_units / wanted > request.max_narration_units:  # long input: more shots, not longer ones
        wanted = math.ceil(total_units / request.max_narration_units)
    return max(1, min(wanted, pieces))


_TIME_PHRASE = re.compile(
    r"^(从前|后来|然后|最后|从那以后|有一[年天次]|那[一]?[天年夜]|第.{1,3}天|每[天年晚]|.{0,4}"
    r"(清晨|傍晚|黄昏|夜晚|晚上|早上|深夜|冬天|夏天|春天|秋天|那天|以后|以前))$")


def _clauses(narration: str) -> list[str]:
    """The narration's clauses, without the quotation marks around them."""
    clauses = (c.strip(" \"'“”‘’「」『』") for c in re.split(r"[，。！？；,.!?;:：]", narration))
    return [c for c in clauses if c] or [narration]


def _subject(narration: str, language: str, names: list[str]) -> str:
    """A short label for the shot, made of whole words: its first non-time clause (zh), or the first
    named character it mentions, else its first clause cut at a phrase boundary (en)."""
    clauses = _clauses(narration)
    if language == "zh":
        clause = next((c for c in clauses if not _TIME_PHRASE.match(c)), clauses[0])
        return zh_phrase(_LEADING_FILLER.sub("", clause) or clause)
    mentioned = [(match.start(), name) for name in names
                 if (match := re.search(rf"\b{re.escape(name)}\b", narration))]
    if mentioned:
        return min(mentioned)[1]
    clause = next((c for c in (_LEADING_FILLER.sub("", c) for c in clauses) if c.strip()), clauses[0])
    return en_phrase(clause)


def _sentence(text: str, language: str) -> str:
    """The text as a whole sentence: ends with a full stop, not with a comma or nothing."""
    text = text.strip().rstrip("，,、；;：:—- ")
    if language == "zh":
        return text if text.endswith(("。", "！", "？", "…", "”", "」")) else text + "。"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…", '"', "”", "'", "’")) else text + "."


def _detail(narration: str, context: str, subject: str, style: str, language: str) -> str:
    """Look, setting and subject, then the whole sentences the shot's narration comes from."""
    tags = scene_tags(narration)
    scene = [SCENE_WORDS[language][t] for t in ("night", "dusk", "dawn") if t in tags][:1]
    scene += [SCENE_WORDS[language][t] for t in SCENE_WORDS[language] if t in tags and t not in
              ("night", "dusk", "dawn")][:3]
    if language == "zh":
        look = f"{style}风格，" if style else ""
        setting = "，".join(scene) or "简洁的场景，柔和的自然光"
        return f"{look}{setting}。画面主体：{_sentence(subject, language)}{context}"
    look = f"{style} style, " if style else ""
    setting = ", ".join(scene) or "a simple scene in soft natural light"
    return f"{_sentence(look + setting, language)} Main subject: {_sentence(subject, language)} {context}"


class OfflineStoryboard(StoryboardBackend):
    info = BackendInfo(name="offline", model="rules-v2", lane="cpu")

    async def storyboard(self, request: StoryboardRequest, ctx: StageContext) -> list[ShotDraft]:
        return split_script(request)


def _heaviest(weights: list[int], sizes: list[int]) -> int:
    heaviest, start = 0, 0
    for size in sizes:
        heaviest = max(heaviest, sum(weights[start:start + size]))
        start += size
    return heaviest


def split_script(request: StoryboardRequest) -> list[ShotDraft]:
    text = clean_script(request.script)
    pieces = sentences_of(text)
    if not pieces:
        raise BadInputError("the script has no sentences to narrate (only headings, rules or blank lines)",
                            hint="write the story as plain sentences; Markdown headings and --- are ignored")
    origin = list(range(len(pieces)))  # each piece's sentence: a shot cut mid-sentence describes whole ones
    sentences = list(pieces)
    total = sum(units(p) for p in pieces)
    wanted = plan_shot_count(total, len(pieces), request)
    # Too few sentences for the shots the length deserves, or a sentence too long to read: use clauses.
    while len(pieces) < wanted or max(units(p) for p in pieces) > request.max_narration_units:
        longest = max(range(len(pieces)), key=lambda i: units(pieces[i]))
        clauses = _split_clauses(pieces[longest])
        if len(clauses) == 1:
            break
        pieces[longest:longest + 1] = clauses
        origin[longest:longest + 1] = [origin[longest]] * len(clauses)
        wanted = plan_shot_count(total, len(pieces), request)
    joiner = "" if request.language == "zh" else " "
    names = en_names(text) if request.language == "en" else []
    drafts: list[ShotDraft] = []
    start = 0
    previous: CameraMove | None = None
    weights = [units(p) for p in pieces]
    sizes = partition(weights, wanted) if len(pieces) <= 200 else []
    limit = request.max_narration_units
    if not sizes or _heaviest(weights, sizes) > limit:  # long input: more shots, each readable
        sizes = pack(weights, limit)
    for index, size in enumerate(sizes):
        narration = joiner.join(pieces[start:start + size])
        context = joiner.join(_sentence(sentences[i], request.language)
                              for i in sorted(set(origin[start:start + size])))
        start += size
        subject = _subject(narration, request.language, names)
        camera = camera_for(narration, index=index, count=len(sizes), previous=previous)
        previous = camera
        drafts.append(ShotDraft(
            subject=subject, narration=narration, camera=camera,
            detail=_detail(narration, context, subject, request.style, request.language),
            tone=TONE_LABELS[request.language][mood_of(narration)],
        ))
    return drafts
