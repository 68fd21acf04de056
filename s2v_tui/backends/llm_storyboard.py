"""The storyboard contract for LLM backends (DashScope Qwen, OpenAI-compatible servers, Ollama).

The prompt follows the seed's contract: 6–10 shots, each `subject/detail/narration/camera/tone`, the
camera one of the eleven moves, the user's style in every `detail`, JSON only. The answer is parsed
(repaired with json-repair when it is almost-JSON), validated against `ShotDraft`, and checked for
count and narration length. Anything wrong is sent back to the model as a correction and retried —
never silently truncated: the seed cut long narration to 29 chars + "…", which then got spoken.
Subclasses implement only `complete()`, one chat round-trip.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import json_repair
from pydantic import ValidationError

from s2v_tui.backends.base import ShotDraft, StageContext, StoryboardBackend, StoryboardRequest
from s2v_tui.domain.camera import CameraMove
from s2v_tui.domain.errors import BackendError
from s2v_tui.media.subtitles import units

MAX_ROUNDS = 3

CAMERA_LIST = "、".join(move.value for move in CameraMove)

STORYBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"shots": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "properties": {
            "sequence": {"type": "integer"}, "subject": {"type": "string"}, "detail": {"type": "string"},
            "narration": {"type": "string"}, "camera": {"type": "string", "enum": [m.value for m in CameraMove]},
            "tone": {"type": "string"}},
        "required": ["sequence", "subject", "detail", "narration", "camera", "tone"]}}},
    "required": ["shots"],
}


def system_prompt(request: StoryboardRequest) -> str:
    limit = request.max_narration_units // 2 if request.language == "zh" else request.max_narration_units // 6
    unit = "个汉字" if request.language == "zh" else " English words"
    language = "中文" if request.language == "zh" else "English"
    return (
        "你是一位资深的视频分镜导演。把用户的故事改编成视频分镜脚本，只输出 JSON（json 对象，不要 Markdown）。\n"
        f'格式：{{"shots":[{{"sequence":1,"subject":"画面主体","detail":"画面描述","narration":"旁白",'
        f'"camera":"镜头运动","tone":"语气"}}]}}\n'
        f"规则：\n- 镜头数量 {request.min_shots}–{request.max_shots} 个（故事很短时可以少于 {request.min_shots} 个），"
        "按故事顺序，覆盖整个故事，不要遗漏情节。\n"
        f"- narration 是这一镜头的旁白原文，每条不超过 {limit}{unit}；旁白连起来就是完整的故事。"
        "不要用省略号截断句子。\n"
        "- detail 是给文生图模型的画面描述：主体、场景、构图、光线（方向、色温）、风格；不写声音、不写字幕。\n"
        f"- camera 必须是以下之一：{CAMERA_LIST}。\n"
        "- tone 是旁白的情绪，例如 平静、紧张、温暖、低沉、兴奋。\n"
        f"- 所有字段使用{language}，camera 除外（必须用上面的中文名称）。\n"
        + (f"- 画面风格：{request.style}。每个 detail 都必须体现这个风格。\n" if request.style else "")
    )


def user_prompt(request: StoryboardRequest) -> str:
    return f"请将以下故事制作成视频分镜脚本（json）：\n【{request.script}】"


class StoryboardInvalid(ValueError):
    """The model's answer broke the contract; the message is fed back to it."""


def parse_storyboard(text: str, request: StoryboardRequest) -> list[ShotDraft]:
    """Parse and validate an answer. Raises `StoryboardInvalid` with a correction to send back."""
    try:
        data = json.loads(text)
    except ValueError:
        data = json_repair.loads(text)
    shots = data.get("shots") if isinstance(data, dict) else data if isinstance(data, list) else None
    if not isinstance(shots, list) or not shots:
        raise StoryboardInvalid('the answer must be a JSON object {"shots": [...]} with at least one shot')
    drafts: list[ShotDraft] = []
    problems: list[str] = []
    for index, raw in enumerate(shots, start=1):
        try:
            drafts.append(ShotDraft.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            problems.append(f"shot {index}: {'.'.join(str(p) for p in first['loc'])} — {first['msg']}")
    if problems:
        raise StoryboardInvalid("; ".join(problems[:5]))
    if len(drafts) > request.max_shots:
        raise StoryboardInvalid(f"{len(drafts)} shots is too many: use {request.min_shots}–{request.max_shots}")
    too_long = [f"shot {i}"
                for i, d in enumerate(drafts, start=1) if units(d.narration) > request.max_narration_units]
    if too_long:
        raise StoryboardInvalid("narration too long to read in one shot: " + ", ".join(too_long)
                                + "; split those shots or tighten the wording (do not cut sentences with …)")
    return drafts


@dataclass(frozen=True)
class Completion:
    text: str
    truncated: bool = False
    """The model stopped at its length limit (the JSON is likely cut off)."""


class LLMStoryboard(StoryboardBackend):
    """Validation/repair loop around one `complete()` call per round."""

    @abstractmethod
    async def complete(self, messages: list[dict[str, str]], ctx: StageContext) -> Completion:
        """One chat round-trip in JSON mode."""

    async def storyboard(self, request: StoryboardRequest, ctx: StageContext) -> list[ShotDraft]:
        messages = [{"role": "system", "content": system_prompt(request)},
                    {"role": "user", "content": user_prompt(request)}]
        last_problem = ""
        for round_number in range(1, MAX_ROUNDS + 1):
            ctx.progress((round_number - 1) / MAX_ROUNDS, f"asking {self.info.name} (round {round_number})")
            answer = await self.complete(messages, ctx)
            try:
                if answer.truncated:
                    raise StoryboardInvalid("the answer was cut off at the length limit; be more concise")
                return parse_storyboard(answer.text, request)
            except StoryboardInvalid as exc:
                last_problem = str(exc)
                ctx.log(f"storyboard answer rejected ({last_problem}); asking again", "warning")
                messages += [{"role": "assistant", "content": answer.text[:8000]},
                             {"role": "user", "content": f"上面的 JSON 不符合要求：{last_problem}。请修正后输出完整的 json。"}]
        raise BackendError(f"{self.info.name} did not return a valid storyboard after {MAX_ROUNDS} tries: {last_problem}",
                           hint="try again, use another model, or use the offline storyboard (--backend storyboard=offline)")
