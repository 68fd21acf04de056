"""API keys never reach project.json, asset files, events, logs or captured output — even when things
go wrong (a rejected key, throttling, a moderated shot, a broken download)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from s2v_tui.config import load_settings
from s2v_tui.domain.events import RunFinished
from s2v_tui.engine.engine import Engine
from s2v_tui.storage.project_store import ProjectFolder
from tests.backends.cloud import SHOT_LINES, CloudFakes, storyboard_json
from tests.conftest import new_project
from tests.fakes.server import Fault

pytestmark = pytest.mark.timeout(90)

DASHSCOPE_KEY = "sk-CANARYdashscope7f3a9c51"
OSS_KEY_ID = "LTAICANARYkeyid42"
OSS_SECRET = "CANARYossSecret0099xyz"
PIXVERSE_KEY = "pv-CANARYpixverse31337"
SECRETS = (DASHSCOPE_KEY, OSS_KEY_ID, OSS_SECRET, PIXVERSE_KEY)


def leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


async def test_no_key_in_any_file_event_log_or_output(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # even debug logging of the SDKs and httpx must stay clean
    events = []
    with CloudFakes(dashscope_key=DASHSCOPE_KEY, oss_key_id=OSS_KEY_ID, oss_secret=OSS_SECRET,
                    pixverse_key=PIXVERSE_KEY) as fakes:
        ds = fakes.dashscope
        ds.llm_responses.append(storyboard_json())
        ds.faults.add("POST /api/v1/services/aigc/multimodal-generation/generation",
                      Fault(status=429, body={"code": "Throttling.RateQuota", "message": "slow down"}))
        ds.faults.add("GET /api/v1/tasks/{id}", Fault(status=500, body={"code": "InternalError", "message": "x"}))
        ds.truncate_next_downloads = 1
        ds.task_outcomes.extend([{}, {"status": "FAILED", "code": "DataInspectionFailed",
                                      "message": "Output data may contain inappropriate content."}])
        folder = ProjectFolder(tmp_path / "project").lock()
        project = new_project("\n".join(SHOT_LINES))
        engine = Engine(folder, fakes.settings())
        events += [e async for e in engine.run(project)]
        assert isinstance(events[-1], RunFinished) and events[-1].status == "partial"
        assert any(f.error.code == "content_rejected" for f in events[-1].failures)

        # Clips from PixVerse, with a throttled generate and a wrong key afterwards.
        fakes.pixverse.faults.add("POST /openapi/v2/video/img/generate",
                                  Fault(status=200, body={"ErrCode": 500044, "ErrMsg": "limit", "Resp": {}}))
        sections = fakes.sections()
        pixverse = load_settings(**{**sections, "backends": {**sections["backends"], "clip": "pixverse"}})
        third = ProjectFolder(tmp_path / "project3").lock()
        ds.llm_responses.append(storyboard_json())
        events += [e async for e in Engine(third, pixverse).run(new_project("\n".join(SHOT_LINES), project_id="three"))]
        assert isinstance(events[-1], RunFinished) and events[-1].status == "done", events[-1].failures
        assert fakes.pixverse.jobs_created == 3
        third.unlock()

        # A wrong key: the error names the variable, never the value that was tried.
        wrong = fakes.settings(api_key=DASHSCOPE_KEY + "-wrong")
        other = ProjectFolder(tmp_path / "project2").lock()
        ds.llm_responses.append(storyboard_json())
        events += [e async for e in Engine(other, wrong).run(new_project("\n".join(SHOT_LINES), project_id="two"))]
        assert "DASHSCOPE_API_KEY" in str(events[-1].model_dump())
        await engine.aclose()
        folder.unlock()
        other.unlock()

    out, err = capfd.readouterr()
    assert leaks(out + err) == []
    assert leaks("\n".join(record.getMessage() for record in caplog.records)) == []
    assert leaks("\n".join(event.model_dump_json() for event in events)) == []
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "project.json" for path in written) and len(written) > 10
    assert {str(path): leaks(path.read_bytes()) for path in written if leaks(path.read_bytes())} == {}
