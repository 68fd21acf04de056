"""`s2v serve` as a client meets it: a real server process on a free loopback port, the original
README's three requests byte for byte, the film downloaded over HTTP (whole and by Range) and probed;
then a SIGKILL mid-render, a restart, and the same request resuming without redoing finished work."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from s2v_tui.media.probe import probe
from s2v_tui.storage.project_store import ProjectFolder
from tests.serve.conftest import JSON, README_PATHS, readme_body

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
FAKE = {f"S2V_BACKENDS__{stage.upper()}": "fake" for stage in ("storyboard", "keyframe", "clip", "voice")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, projects: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, **FAKE, "S2V_PROJECTS_DIR": str(projects), "S2V_RENDER__SIZE": "160x288",
                "S2V_RENDER__FPS": "10", "S2V_RENDER__SAMPLE_RATE": "16000", "SERVICE_PORT": str(self.port), **env}
        self.log = log.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "s2v_tui", "serve"], env=full,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text(errors="ignore")[-3000:]
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("s2v serve did not come up")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "projects", tmp_path / "serve.log")
    yield running
    running.stop()


def test_the_readme_requests_against_a_real_server_return_a_playable_film(server: Server, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.base, timeout=120) as client:
        for kind in ("create", "regenerate", "render"):
            answer = client.post(README_PATHS[kind], content=readme_body(kind), headers=JSON)
            assert answer.status_code == 200, answer.text
            assert answer.json()["operation"]["status"] == "Success"
        video_url = answer.json()["video_url"]
        film = client.get(video_url)
        assert film.status_code == 200 and film.headers["content-type"] == "video/mp4"
        start = len(film.content) // 2
        part = client.get(video_url, headers={"Range": f"bytes={start}-"})
        assert part.status_code == 206 and part.content == film.content[start:]
    path = tmp_path / "downloaded.mp4"
    path.write_bytes(film.content)
    media = probe(path)
    assert media.duration > 1 and media.audio
    assert (media.video[0].width, media.video[0].height) == (160, 288)
    log = (tmp_path / "serve.log").read_text(errors="ignore")
    assert "POST /api/v1/video/render" in log and "Traceback" not in log


def test_sigkill_mid_render_then_restart_and_the_same_request_resumes(tmp_path: Path) -> None:
    projects, log = tmp_path / "projects", tmp_path / "serve.log"
    render = {"operation_id": "op-003", "story_id": "story-001", "user_id": "u-001"}
    first = Server(projects, log, S2V_FAKE__LATENCY="0.4")
    finished_before: set[tuple[str, str]] = set()
    try:
        with httpx.Client(base_url=first.base, timeout=120) as client:
            assert client.post(README_PATHS["create"], content=readme_body("create"), headers=JSON).status_code == 200
            accepted = client.post(README_PATHS["render"], json=render, headers={"Prefer": "respond-async"})
            assert accepted.status_code == 202
            with client.stream("GET", "/api/v1/operations/op-003/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        if event.get("type") == "stage_finished" and not event["cached"] and event["shot_id"]:
                            finished_before.add((event["shot_id"], event["stage"]))
                    if len(finished_before) >= 3:
                        break
    finally:
        first.stop(signal.SIGKILL)
    assert first.process.returncode == -signal.SIGKILL and len(finished_before) >= 3
    ProjectFolder(projects / "users/u-001/stories/story-001").load()  # still a valid project
    second = Server(projects, log)
    try:
        with httpx.Client(base_url=second.base, timeout=120) as client:
            view = client.get("/api/v1/operations/op-003").json()
            assert view["state"] == "interrupted" and view["status"] == "Failed"
            again = client.post(README_PATHS["render"], json=render)
            assert again.status_code == 200 and again.json()["operation"]["status"] == "Success"
            events = [json.loads(line[6:]) for line in client.get("/api/v1/operations/op-003/events").text.splitlines()
                      if line.startswith("data: ")]
            assert client.get(again.json()["video_url"]).status_code == 200
    finally:
        second.stop()
    started = {(e["shot_id"], e["stage"]) for e in events if e.get("type") == "stage_started"}
    cached = {(e["shot_id"], e["stage"]) for e in events if e.get("type") == "stage_finished" and e["cached"]}
    assert finished_before <= cached and not finished_before & started


def test_sigterm_stops_in_seconds_even_with_a_waiting_post_and_leaves_it_resumable(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    server = Server(projects, tmp_path / "serve.log", S2V_FAKE__LATENCY="4")
    try:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            assert client.post(README_PATHS["create"], content=readme_body("create"), headers=JSON).status_code == 200
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(httpx.post(
        f"{server.base}{README_PATHS['render']}", timeout=120, content=readme_body("render"), headers=JSON)))
    waiting.start()
    time.sleep(1.5)
    stopped = time.monotonic()
    server.stop(signal.SIGTERM)
    assert server.process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    assert time.monotonic() - stopped < 20
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text(errors="ignore")
    waiting.join(30)
    assert answers and answers[0].status_code == 409 and answers[0].json()["code"] == "INTERRUPTED"
    assert "POST the same request again" in answers[0].json()["operation"]["detail"]
    assert "Traceback" not in (tmp_path / "serve.log").read_text(errors="ignore")
    record = json.loads((projects / "users/u-001/stories/story-001/operations/op-003.json").read_text())
    assert record["state"] == "interrupted"
