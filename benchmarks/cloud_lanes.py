"""How close do lanes get to the ideal schedule? 20 shots on the cloud backends over loopback fakes.

Every request to the DashScope fake takes a fixed latency L. Each DashScope service has its own lane
of width c (image, video, voice: `dashscope.lanes`). A calibration run renders one shot alone to
measure each stage's time k (keyframe), v (voice), p (clip), s (segment). For N identical shots the
ideal makespan is the flow-shop bound: no lane can finish its N·t/c of work before its first input
arrives, nor can the last clip start before the last keyframe and voice are done —

    ideal = max(N·k/c + p,  N·v/c + p,  max(k, v) + N·p/c) + s

The benchmark prints wall / ideal; the target is ≤ 1.15.

    python benchmarks/cloud_lanes.py [--latency 0.1] [--lanes 2] [--shots 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes
os.environ.setdefault("S2V_CONFIG_FILE", str(Path(tempfile.gettempdir()) / "s2v-benchmark-no-config.toml"))

from s2v_tui.config import load_settings  # noqa: E402
from s2v_tui.domain.events import RunFinished, StageFinished  # noqa: E402
from s2v_tui.domain.project import Project, VideoFormat  # noqa: E402
from s2v_tui.domain.shot import Shot  # noqa: E402
from s2v_tui.engine.engine import Engine  # noqa: E402
from s2v_tui.storage.project_store import ProjectFolder  # noqa: E402
from tests.backends.cloud import CloudFakes  # noqa: E402

LANE_STAGES = ("keyframe", "voice", "clip")
CALIBRATION_RUNS = 3
NARRATION = "夜晚，海边的小镇下起了雪。"
"""One line for every shot: the fake renders each distinct audio length once, so all shots cost the same."""


def make_project(project_id: str, shots: int) -> Project:
    return Project(id=project_id, title="bench", language="zh", script=NARRATION * shots,
                   format=VideoFormat(width=160, height=288, fps=10),
                   shots=[Shot(id=f"shot_{i:02d}", sequence=i, subject="小镇", detail=f"水彩插画，小镇，第{i}幕",
                               narration=NARRATION) for i in range(1, shots + 1)])


async def render(fakes: CloudFakes, lanes: int, root: Path, project_id: str, shots: int) -> tuple[float, dict]:
    """Wall seconds from start to the last segment, and per-stage durations."""
    sections = fakes.sections(lanes=lanes, image_handover="data_uri", image_model="wan2.2-t2i-flash",
                              image_size="512*512")
    settings = load_settings(**{**sections, "render": {**sections["render"], "workers": 4}})
    folder = ProjectFolder(root / project_id).lock()
    engine = Engine(folder, settings)
    durations: dict[str, list[float]] = defaultdict(list)
    started = time.monotonic()
    async for event in engine.run(make_project(project_id, shots), final=False):
        if isinstance(event, StageFinished) and event.seconds is not None:
            durations[event.stage].append(event.seconds)
        if isinstance(event, RunFinished) and event.status != "done":
            raise SystemExit(f"the benchmark run failed: {event.failures}")
    wall = time.monotonic() - started
    await engine.aclose()
    folder.unlock()
    return wall, durations


async def main(latency: float, lanes: int, shots: int) -> float:
    with CloudFakes(polls_to_finish=3) as fakes, tempfile.TemporaryDirectory() as tmp:
        fakes.dashscope.faults.latency = latency
        await render(fakes, 8, Path(tmp), "warmup", 1)  # fills the fake's media caches
        samples: dict[str, list[float]] = defaultdict(list)
        for run in range(CALIBRATION_RUNS):  # one shot alone, lane wide open: no stage ever waits
            for stage, seconds in (await render(fakes, 8, Path(tmp), f"calibrate-{run}", 1))[1].items():
                samples[stage] += seconds
        one = {stage: [statistics.median(values)] for stage, values in samples.items()}
        wall, _ = await render(fakes, lanes, Path(tmp), "bench", shots)
    k, v, p, s = (one[stage][0] for stage in (*LANE_STAGES, "segment"))
    ideal = max(shots * k / lanes + p, shots * v / lanes + p, max(k, v) + shots * p / lanes) + s
    ratio = wall / ideal
    stages = ", ".join(f"{stage} {one[stage][0]:.2f}s" for stage in (*LANE_STAGES, "segment"))
    print(f"latency L={latency:.3f}s  lane width c={lanes}  shots={shots}")
    print(f"one shot alone (median of {CALIBRATION_RUNS}): {stages}")
    print(f"wall {wall:.2f}s  ideal {ideal:.2f}s  ratio {ratio:.3f}  (target <= 1.15)")
    return ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every fake request (L)")
    parser.add_argument("--lanes", type=int, default=2, help="width of the dashscope lane (c)")
    parser.add_argument("--shots", type=int, default=20)
    options = parser.parse_args()
    sys.exit(0 if asyncio.run(main(options.latency, options.lanes, options.shots)) <= 1.15 else 1)
