"""Helpers for whole-engine cloud runs against the fakes (e2e, secrets, crash test, benchmark)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from s2v_tui.config import Settings, load_settings
from tests.fakes.dashscope import DashScopeFake
from tests.fakes.oss import OssFake
from tests.fakes.pixverse import PixVerseFake

CLOUD_STAGES = ("storyboard", "keyframe", "clip", "voice")
SHOT_LINES = ["夜晚，海边的小镇下起了雪。", "老人提着红灯笼走上山顶。", "远处的渔船看见了光，慢慢回到港口。"]


def storyboard_json(lines: list[str] | None = None) -> str:
    """What the fake LLM answers: one shot per line."""
    cameras = ["镜头推进", "水平横移拍摄", "固定机位"]
    shots = [{"sequence": i + 1, "subject": line[:6], "detail": f"水彩插画，{line}", "narration": line,
              "camera": cameras[i % 3], "tone": "平静"} for i, line in enumerate(lines or SHOT_LINES)]
    return json.dumps({"shots": shots}, ensure_ascii=False)


class CloudFakes:
    """The DashScope, OSS and PixVerse fakes, started together."""

    def __init__(self, *, dashscope_key: str = "sk-test-fake-cloud", oss_key_id: str = "LTAItestfakeid",
                 oss_secret: str = "test-fake-oss-secret", pixverse_key: str = "pv-test-fake-cloud",
                 polls_to_finish: int = 2) -> None:
        self.dashscope = DashScopeFake(api_key=dashscope_key, polls_to_finish=polls_to_finish)
        self.oss = OssFake(access_key_id=oss_key_id, access_key_secret=oss_secret)
        self.pixverse = PixVerseFake(api_key=pixverse_key, polls_to_finish=polls_to_finish)
        self._stack = ExitStack()

    def __enter__(self) -> CloudFakes:
        for fake in (self.dashscope, self.oss, self.pixverse):
            self._stack.enter_context(fake)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def sections(self, **dashscope: Any) -> dict[str, Any]:
        """Settings sections: every stage on DashScope, keyframes handed to Wan through OSS."""
        return {
            "backends": {stage: "dashscope" for stage in CLOUD_STAGES},
            "dashscope": {"api_key": self.dashscope.api_key, "http_base_url": self.dashscope.base_url,
                          "websocket_base_url": self.dashscope.ws_base_url, "image_handover": "oss",
                          "poll_interval": 0.02, "poll_deadline": 60, "request_timeout": 10, **dashscope},
            "oss": {"endpoint": self.oss.url, "bucket": self.oss.bucket, "access_key_id": self.oss.access_key_id,
                    "access_key_secret": self.oss.access_key_secret, "prefix": "s2v-e2e"},
            "pixverse": {"api_key": self.pixverse.api_key, "base_url": self.pixverse.url, "poll_interval": 0.02,
                         "poll_deadline": 60},
            "retry": {"attempts": 3, "base_delay": 0.02, "max_delay": 0.1},
            "render": {"sample_rate": 22050},
        }

    def settings(self, **dashscope: Any) -> Settings:
        return load_settings(**self.sections(**dashscope))

    def env(self) -> dict[str, str]:
        """The same configuration as environment variables, for `python -m s2v_tui --run` subprocesses.
        Base URLs go through the SDK's own variables, which s2v honours when config sets none."""
        return {
            "LOCAL_INFERENCE": "false",
            "DASHSCOPE_API_KEY": self.dashscope.api_key,
            "DASHSCOPE_HTTP_BASE_URL": self.dashscope.base_url,
            "DASHSCOPE_WEBSOCKET_BASE_URL": self.dashscope.ws_base_url,
            "S2V_DASHSCOPE__IMAGE_HANDOVER": "oss",
            "S2V_DASHSCOPE__POLL_INTERVAL": "0.05",
            "OSS_ENDPOINT": self.oss.url, "OSS_BUCKET": self.oss.bucket,
            "OSS_ACCESS_KEY_ID": self.oss.access_key_id, "OSS_ACCESS_KEY_SECRET": self.oss.access_key_secret,
            "S2V_RETRY__BASE_DELAY": "0.05", "S2V_RENDER__FPS": "10", "S2V_RENDER__SAMPLE_RATE": "22050",
        }

    def video_submits(self) -> list[dict[str, Any]]:
        return [s for s in self.dashscope.submits if s["endpoint"].endswith("video-synthesis")]
