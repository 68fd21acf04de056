"""How well does `s2v serve` keep the shared lanes full? 20 stories created and rendered at once
through the HTTP API of a real `s2v serve` process, on the fake backends with latency.

Every story makes the same calls: storyboard (b), then per shot keyframe (k) in `POST
/storyboard/create`, then voice (v), clip (p) and the segment encode (s) per shot and the film join (f)
in `POST /video/render`. The fake backends queue in one lane of width W (storyboard, keyframe,
voice, clip); encodes in the `encode` lane of width E (`[render] workers`). A calibration run renders
one story alone and measures each stage's own time. For N stories of m shots the ideal makespan is
bounded by each lane's work and by one story's chain of dependent steps:

    fake lane    N·(b + m·(k + v + p)) / W  + s + f        (the last clip still needs its encode and join)
    encode lane  N·(m·s + f) / E  + b + k + v + p          (nothing is encoded before a first clip exists)
    one story    b + k + v + p + s + f
    ideal = max(the three)

It prints wall ÷ ideal (target ≤ 1.2) and the p99 latency of `GET /api/v1/operations/{id}` polled
throughout the load (target ≤ 50 ms).

    python benchmarks/serve_load.py [--stories 20] [--latency 1.0] [--workers 2]

The default latency (1 s per fake call) keeps the run a test of the schedule: the twenty stories' own
CPU work (encodes, the fake voice's pure-Python synthesis) is 15–22 CPU-seconds, which at 0.5 s is
half or more of a 2-core machine, so the ratio would also measure whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psutil

STORY = "夜晚，海边的小镇下起了雪。\n\n老人提着红灯笼走上山顶。远处的渔船看见了光，慢慢回到港口。"
FAKE_LANE_WIDTH = 8
FAKE_STAGES = ("storyboard", "keyframe", "voice", "clip")
ENCODE_STAGES = ("segment", "final")
CALIBRATION_RUNS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(projects: Path, latency: float, workers: int, stories: int, size: str, fps: int,
                 sample_rate: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "S2V_CONFIG_FILE": os.devnull, "S2V_PROJECTS_DIR": str(projects),
           "S2V_RENDER__SIZE": size, "S2V_RENDER__FPS": str(fps), "S2V_RENDER__SAMPLE_RATE": str(sample_rate),
           "S2V_RENDER__WORKERS": str(workers), "S2V_FAKE__LATENCY": str(latency),
           "S2V_SERVE__MAX_RUNNING": str(stories), "S2V_SERVE__MAX_QUEUE": str(stories)}
    env.update({f"S2V_BACKENDS__{stage.upper()}": "fake" for stage in ("storyboard", "keyframe", "clip", "voice")})
    process = subprocess.Popen([sys.executable, "-m", "s2v_tui", "serve", "--port", str(port), "--log-level",
                                "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("s2v serve did not start")


async def story(client: httpx.AsyncClient, name: str, known: list[str]) -> list[str]:
    """Create and render one story (each POST answered at once, then followed on its event stream to the
    end); returns its operation ids, added to `known` as soon as the service has accepted them."""
    user = f"user-{name[-1]}"
    requests = [("/api/v1/storyboard/create", {"operation_id": f"{name}-create", "story_id": name, "user_id": user,
                                               "display_name": name, "script_content": STORY, "style": "水彩插画"}),
                ("/api/v1/video/render", {"operation_id": f"{name}-render", "story_id": name, "user_id": user})]
    for path, body in requests:
        accepted = await client.post(path, json=body, headers={"Prefer": "respond-async"})
        if accepted.status_code != 202:
            raise SystemExit(f"{name}: HTTP {accepted.status_code} {accepted.text[:300]}")
        known.append(body["operation_id"])
        async with client.stream("GET", f"/api/v1/operations/{body['operation_id']}/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: ") and '"status":"Failed"' in line:
                    raise SystemExit(f"{name}: {line[:300]}")
    return [body["operation_id"] for _, body in requests]


async def stage_seconds(client: httpx.AsyncClient, operation_ids: list[str]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for operation_id in operation_ids:
        text = (await client.get(f"/api/v1/operations/{operation_id}/events")).text
        for line in text.splitlines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event.get("type") == "stage_finished" and not event.get("cached"):
                    found[event["stage"]].append(event["seconds"])
    return found


async def poll(client: httpx.AsyncClient, known: list[str], stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        if known:
            started = time.perf_counter()
            answer = await client.get(f"/api/v1/operations/{random.choice(known)}")
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.01)


async def main(stories: int, latency: float, workers: int, size: str = "160x288", fps: int = 10,
               sample_rate: int = 16000) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_server(Path(tmp), latency, workers, stories, size, fps, sample_rate)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=600,
                                         limits=httpx.Limits(max_connections=stories + 8)) as client:
                samples: dict[str, list[float]] = defaultdict(list)
                shots = 0
                for run in range(CALIBRATION_RUNS):  # one story alone: no stage ever waits for a lane
                    ids = await story(client, f"calibrate-{run}", [])
                    for stage, seconds in (await stage_seconds(client, ids)).items():
                        samples[stage] += seconds
                    shots = len(samples["segment"]) // (run + 1)
                one = {stage: statistics.median(values) for stage, values in samples.items()}
                known: list[str] = []
                latencies: list[float] = []
                stop = asyncio.Event()
                prober = asyncio.create_task(poll(client, known, stop, latencies))

                server = psutil.Process(process.pid)
                cpu_before = server.cpu_times()
                started = time.monotonic()
                await asyncio.gather(*[story(client, f"load-{n:02d}", known) for n in range(stories)])
                wall = time.monotonic() - started
                cpu = server.cpu_times()
                stop.set()
                await prober
        finally:
            process.terminate()
            process.wait(30)
    b, k, v, p, s, f = (one[stage] for stage in (*FAKE_STAGES, *ENCODE_STAGES))
    fake_bound = stories * (b + shots * (k + v + p)) / FAKE_LANE_WIDTH + s + f
    encode_bound = stories * (shots * s + f) / workers + b + k + v + p
    chain = b + k + v + p + s + f
    ideal = max(fake_bound, encode_bound, chain)
    ratio = wall / ideal
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else max(latencies) * 1000
    stages = ", ".join(f"{stage} {one[stage]:.3f}s" for stage in (*FAKE_STAGES, *ENCODE_STAGES))
    print(f"stories N={stories} of m={shots} shots at {size} @ {fps} fps, {sample_rate} Hz; fake latency "
          f"{latency:.2f}s; lanes: fake W={FAKE_LANE_WIDTH}, encode E={workers}")
    print(f"one story alone (median of {CALIBRATION_RUNS}): {stages}")
    print(f"bounds: fake lane {fake_bound:.2f}s, encode lane {encode_bound:.2f}s, one story {chain:.2f}s")
    own = (cpu.user + cpu.system) - (cpu_before.user + cpu_before.system)
    children = (cpu.children_user + cpu.children_system) - (cpu_before.children_user + cpu_before.children_system)
    print(f"CPU during the load: server process {own:.1f}s, its ffmpeg children {children:.1f}s "
          f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"wall {wall:.2f}s  ideal {ideal:.2f}s  ratio {ratio:.3f}  (target <= 1.2)")
    print(f"GET /operations/{{id}} during the load: {len(latencies)} requests, p50 "
          f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99:.1f} ms  (target <= 50 ms)")
    return ratio, p99


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each fake backend call takes")
    parser.add_argument("--workers", type=int, default=2, help="[render] workers: width of the encode lane")
    parser.add_argument("--size", default="160x288", help="film size (encode cost)")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--sample-rate", type=int, default=16000, help="(the fake voice synthesises in Python)")
    options = parser.parse_args()
    ratio, p99 = asyncio.run(main(options.stories, options.latency, options.workers, options.size, options.fps,
                                  options.sample_rate))
    sys.exit(0 if ratio <= 1.2 and p99 <= 50 else 1)
