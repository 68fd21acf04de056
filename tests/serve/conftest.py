"""In-process `s2v serve`: the FastAPI app over httpx's ASGI transport, on the fake backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from s2v_tui.serve.app import create_app
from tests.conftest import fake_backends, make_settings

STORY = "夜晚，海边的小镇下起了雪。\n\n老人提着红灯笼走上山顶。远处的渔船看见了光，慢慢回到港口。"


def serve_settings(**overrides: Any):  # type: ignore[no-untyped-def]
    sections: dict[str, Any] = {"backends": fake_backends(), "render": {"size": "160x288", "fps": 10,
                                                                       "sample_rate": 16000}}
    for key, value in overrides.items():
        sections[key] = {**sections.get(key, {}), **value} if isinstance(value, dict) else value
    return make_settings(**sections)


def create_body(operation_id: str = "op-001", story_id: str = "story-001", user_id: str = "u-001",
                **extra: Any) -> dict[str, Any]:
    return {"operation_id": operation_id, "story_id": story_id, "user_id": user_id, "display_name": "我的故事",
            "script_content": STORY, "style": "水彩插画", **extra}


class Served:
    """The app, its client and its settings."""

    def __init__(self, app: Any, client: httpx.AsyncClient, settings: Any) -> None:
        self.app, self.client, self.settings = app, client, settings

    @property
    def service(self) -> Any:
        return self.app.state.service


async def start(settings: Any, headers: dict[str, str] | None = None, backends: Any = None) -> AsyncIterator[Served]:
    app = create_app(settings, backends=backends)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s2v.test", headers=headers or {},
                                     timeout=60) as client:
            yield Served(app, client, settings)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async for item in start(serve_settings()):
        yield item


def readme_body(kind: str, script: str = STORY) -> bytes:
    """A body exactly as the original README's curl sends it: `-d "{\\n    \\"operation_id\\": …}"`
    in shell double quotes keeps each `\\n` as a backslash and an n, and the regenerate example has a
    stray `+` before `shot_id` (a diff marker pasted into the README). Only the placeholder script
    `......` is replaced by a real story."""
    bodies = {
        "create": r'{\n    "operation_id": "op-001",\n    "story_id": "story-001",\n    "user_id": "u-001",\n'
                  r'    "display_name": "我的故事",\n    "script_content": "SCRIPT",\n    "style": "写实"\n  }',
        "regenerate": r'{\n    "operation_id": "op-002",\n    "story_id": "story-001",\n+    "shot_id": "shot_01",\n'
                      r'    "user_id": "u-001",\n    "detail": "新的细节描述..."\n  }',
        "render": r'{\n    "operation_id": "op-003",\n    "story_id": "story-001",\n    "user_id": "u-001"\n  }',
    }
    return bodies[kind].replace("SCRIPT", script.replace("\n", "\\n")).encode("utf-8")


README_PATHS = {"create": "/api/v1/storyboard/create", "regenerate": "/api/v1/shot/regenerate",
                "render": "/api/v1/video/render"}
JSON = {"Content-Type": "application/json"}
