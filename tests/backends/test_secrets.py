"""API keys never reach project.json, asset files, events, logs or captured output — even when things
go wrong (a rejected key, throttling, a moderated shot, a broken download)."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("padding", [" {}\n", "\t{}  ", "{}\r\n"])
def test_a_key_configured_with_whitespace_never_leaks_when_a_provider_echoes_it(
        padding: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from s2v_tui.cli import main

    key = f"sk-CANARYpadded{abs(hash(padding)) % 10**8:08d}xyz"  # never registered by another test of this process
    with CloudFakes(dashscope_key=key) as fakes:
        fakes.dashscope.llm_responses.append(storyboard_json())
        for _ in range(20):  # every keyframe attempt is refused with the request headers echoed back
            fakes.dashscope.faults.add("POST /api/v1/services/aigc/multimodal-generation/generation",
                                       Fault(status=400, body={"code": "InvalidParameter", "message": "no"},
                                             echo_headers=True))
        for name, value in fakes.env().items():
            if name != "DASHSCOPE_API_KEY":
                monkeypatch.setenv(name, value)
        config = tmp_path / "config.toml"
        config.write_text(f"[dashscope]\napi_key = {json.dumps(padding.format(key))}\n", encoding="utf-8")
        story = tmp_path / "story.txt"
        story.write_text("\n".join(SHOT_LINES), encoding="utf-8")
        out = tmp_path / "p"
        code = main(["--run", str(story), "--out", str(out), "--json", "--config", str(config), "--size", "160x288"])
    assert code in (3, 4)
    assert any("Authorization" in r.body.decode("utf-8", "replace") or "authorization" in str(r.headers).lower()
               for r in fakes.dashscope.requests)  # the key really was sent (stripped), and echoed back
    printed = capsys.readouterr()
    assert "request headers" in printed.out  # the echoed message reached the output…
    assert key not in printed.out + printed.err  # …without the key
    for name in ("project.json", "project.json.bak"):
        assert key.encode() not in (out / name).read_bytes(), name


def test_every_form_of_a_secret_is_redacted() -> None:
    from urllib.parse import quote

    from s2v_tui.domain.errors import redact, register_secret

    key = "sk-CANARYforms+/=0123456789"
    register_secret(f"  {key}\n")
    for text in (f"Bearer {key}", quote(key, safe=""), json.dumps({"k": key}), f"x-api-key: {key}",
                 "Authorization: Bearer eyJunregistered.token.value"):
        assert "CANARY" not in redact(text) and "eyJunregistered" not in redact(text), text
    assert redact("a bearer of good news") == "a bearer of good news"
