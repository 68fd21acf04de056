"""Studio responsiveness during a render: the longest the event loop goes without running a 10 ms timer.

Drives the real app headless (`App.run_test`) on a new project: storyboard, then a full render with the
deterministic fake backends (keyframes, voices and motion plans are fake; the segment encodes and the
final join are real ffmpeg work, as are the Ken-Burns frames rendered in threads). A 10 ms interval
timer on the app records the gap between consecutive ticks; any stall of the loop — a blocking call in
a handler, a flood of progress messages, a slow repaint — shows up as a long gap.

Prints the max gap in ms (issue target: < 100 ms), the 99th percentile, and how many gaps exceeded
100 ms. Usage (from the repo root):

    python benchmarks/tui_responsiveness.py [--story examples/lighthouse.en.txt] [--size 360x640] [--fps 24]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICK = 0.01
TARGET_MS = 100.0


async def measure(story: Path, size: str, fps: int, terminal: tuple[int, int], latency: float,
                  backend: str = "fake") -> dict[str, float]:
    from s2v_tui.config import load_settings
    from s2v_tui.tui.app import make_app
    from s2v_tui.tui.library import ProjectLibrary
    from s2v_tui.tui.screens.studio import StudioScreen

    workdir = Path(tempfile.mkdtemp(prefix="s2v-tui-bench-"))
    settings = load_settings(projects_dir=workdir, render={"size": size, "fps": fps},
                             backends={stage: backend for stage in ("storyboard", "keyframe", "clip", "voice")},
                             fake={"latency": latency})
    folder = ProjectLibrary(settings).create_from_script(story)
    folder.unlock()
    app = make_app(settings, folder.path, image_renderer="auto", freeze_gc=True)  # as `s2v` runs it
    gaps: list[float] = []
    last = time.perf_counter()
    recording = False

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        if recording:
            gaps.append(now - last)
        last = now

    async with app.run_test(size=terminal) as pilot:
        while not isinstance(app.screen, StudioScreen):
            await pilot.pause(0.05)
        studio: StudioScreen = app.screen  # type: ignore[assignment]
        await pilot.press("escape")  # leave the script editor (a focus change, not part of the work)
        await pilot.pause(1.0)  # opening the project (first paint, plan, preview) is not part of the render
        last = started = time.perf_counter()
        recording = True
        app.set_interval(TICK, tick)
        for keys in (("g",), ("R",)):  # the storyboard, then the render
            before = studio.tally
            await pilot.press(*keys)
            while studio.tally is before or studio.job is not None:
                await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        recording = False
        status = studio.tally.status
        shots = len(studio.session.project.shots)
    if status != "done":
        raise SystemExit(f"render ended {status}")
    ms = sorted(gap * 1000 for gap in gaps)
    return {"shots": shots, "seconds": seconds, "ticks": len(ms), "max_ms": ms[-1],
            "p99_ms": ms[int(0.99 * (len(ms) - 1))], "median_ms": statistics.median(ms),
            "over_target": sum(gap > TARGET_MS for gap in ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--story", type=Path, default=Path("examples/lighthouse.en.txt"))
    parser.add_argument("--size", default="360x640", help="video size (bigger = more encode work per shot)")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--terminal", default="160x48", help="terminal size the app draws at")
    parser.add_argument("--latency", type=float, default=0.2, help="fake backend latency per stage, seconds")
    parser.add_argument("--backend", default="fake", choices=["fake", "offline"],
                        help="fake (deterministic, the default) or the real offline backends")
    args = parser.parse_args()
    os.environ.setdefault("S2V_CONFIG_FILE", os.devnull)  # the developer's config must not change the figure
    width, height = (int(v) for v in args.terminal.split("x"))
    result = asyncio.run(measure(args.story, args.size, args.fps, (width, height), args.latency, args.backend))
    print(f"storyboard + render of {result['shots']} shots ({args.backend} backends) at {args.size}@{args.fps} "
          f"in {result['seconds']:.1f}s, terminal {args.terminal}, {result['ticks']} ticks of {TICK * 1000:.0f} ms, "
          f"{os.cpu_count()} CPUs")
    print(f"max gap between ticks: {result['max_ms']:.1f} ms   (target < {TARGET_MS:.0f} ms)")
    print(f"p99 gap: {result['p99_ms']:.1f} ms · median gap: {result['median_ms']:.1f} ms · "
          f"gaps over {TARGET_MS:.0f} ms: {result['over_target']}")
    return 0 if result["max_ms"] < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
